using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// The hub's view of a session cookie. A cookie-authenticated hub request (negotiate, poll, send, SSE, WebSocket) is only
/// accepted with proof that it comes from Relay's own origin or an allowed one (<see cref="BffHubOrigin"/>):
/// SameSite=Strict keeps the cookie off cross-site requests, not off a sibling subdomain's.
/// </summary>
internal sealed class BffCredentialSource(BffSessions sessions, IOptions<RelayOptions> relayOptions, IOptions<BffOptions> bffOptions) : ICredentialSource
{
    public HttpTransportType Transports => bffOptions.Value.CookieTransports;

    public async Task<CredentialResolution> ResolveTokenAsync(HttpContext context)
    {
        if (!context.Request.Cookies.ContainsKey(sessions.CookieName))
        {
            return default;
        }

        if (!BffHubOrigin.IsProven(context, relayOptions.Value.AllowedOrigins))
        {
            context.Items[BffHubOrigin.RefusedKey] = true;
            return new CredentialResolution(null, Refused: true);
        }

        BffResolution resolution;
        try
        {
            resolution = await sessions.ResolveAsync(context);
        }
        catch (UpstreamException)
        {
            return new CredentialResolution(null, Refused: false, Unavailable: true);
        }

        if (resolution.Session is not { } session)
        {
            return new CredentialResolution(null, Refused: true);
        }

        context.Items[CredentialItems.SessionIdKey] = session.Id;
        return new CredentialResolution(session.Token, Refused: false);
    }

    public Task ChallengeAsync(HttpContext context)
        => context.Items.ContainsKey(BffHubOrigin.RefusedKey)
            ? new BffError(BffHubOrigin.RefusalCode, BffHubOrigin.RefusalMessage).WriteAsync(context, StatusCodes.Status401Unauthorized)
            : Task.CompletedTask;
}
