namespace Relay.Testing.PocketBase;

/// <summary>Settings that moved in 0.23: from the app-wide settings (0.22) to options of the auth collection (0.23+).</summary>
public sealed partial class PocketBaseAdmin
{
    /// <summary>
    /// Sets how long new auth tokens of <c>users</c> live: 0.22 <c>recordAuthToken.duration</c> in the app settings (every
    /// auth collection), 0.23+ <c>authToken.duration</c> of the <c>users</c> collection.
    /// </summary>
    public Task SetRecordTokenDurationAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var seconds = (long)duration.TotalSeconds;
        return Version.HasSuperuserCollection
            ? SendAsync(HttpMethod.Patch, "api/collections/users", new { authToken = new { duration = seconds } }, token: null, cancellationToken)
            : SendAsync(HttpMethod.Patch, "api/settings", new { recordAuthToken = new { duration = seconds } }, token: null, cancellationToken);
    }

    /// <summary>
    /// Switches on sign-in with PocketBase's generic OpenID Connect provider (<c>oidc</c>) for <c>users</c>: 0.22
    /// <c>oidcAuth</c> in the app settings, 0.23+ an <c>oauth2.providers</c> entry of the collection.
    /// </summary>
    public Task EnableOidcAsync(string clientId, string clientSecret, Uri authUrl, Uri tokenUrl, Uri userInfoUrl, CancellationToken cancellationToken = default)
    {
        if (!Version.HasSuperuserCollection)
        {
            return SendAsync(HttpMethod.Patch, "api/settings", new
            {
                oidcAuth = new { enabled = true, clientId, clientSecret, authUrl = authUrl.ToString(), tokenUrl = tokenUrl.ToString(), userApiUrl = userInfoUrl.ToString(), pkce = true },
            }, token: null, cancellationToken);
        }

        return SendAsync(HttpMethod.Patch, "api/collections/users", new
        {
            oauth2 = new
            {
                enabled = true,
                providers = new[]
                {
                    new { name = "oidc", clientId, clientSecret, authURL = authUrl.ToString(), tokenURL = tokenUrl.ToString(), userInfoURL = userInfoUrl.ToString(), pkce = true },
                },
            },
        }, token: null, cancellationToken);
    }
}
