namespace Relay.Bff;

/// <summary>Names of the BFF mode, following Duende BFF's conventions where they exist.</summary>
internal static class BffDefaults
{
    /// <summary>The cookie authentication scheme holding the session id (never the token).</summary>
    public const string Scheme = "RelayBff";

    /// <summary>The session cookie over HTTPS: <c>__Host-</c> pins it to this host, path <c>/</c> and Secure.</summary>
    public const string SecureCookieName = "__Host-relay-session";

    /// <summary>The session cookie over plain HTTP in Development, where browsers refuse <c>__Host-</c> cookies.</summary>
    public const string DevelopmentCookieName = "relay-session";

    public const string OAuth2CookieSuffix = "-oauth2";

    /// <summary>The header every non-GET/HEAD BFF or proxied request must carry; a cross-site form cannot set it.</summary>
    public const string CsrfHeader = "X-CSRF";

    public const string SessionIdClaim = "sid";

    public const string OAuth2CallbackPath = "/bff/oauth2/callback";
    public const string ApiPrefix = "/api";
}
