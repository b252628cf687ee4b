namespace Relay.Bff;

/// <summary>The <c>code</c> of a BFF error body <c>{ "code": ..., "message": ... }</c>.</summary>
internal static class BffErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string PayloadTooLarge = "payload_too_large";
    public const string CsrfRefused = "csrf_refused";
    public const string LoginFailed = "login_failed";
    public const string TooManyAttempts = "too_many_attempts";
    public const string NotSignedIn = "not_signed_in";
    public const string SessionEnded = "session_ended";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UnknownProvider = "unknown_provider";
    public const string OAuth2Refused = "oauth2_refused";
    public const string UseTheHub = "use_the_hub";
    public const string NotProxied = "not_proxied";
}
