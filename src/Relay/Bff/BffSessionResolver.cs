using Microsoft.Extensions.Options;
using Relay.Upstream;

namespace Relay.Bff;

/// <summary>
/// The hub's view of a session cookie. A cookie-authenticated hub request (negotiate, poll, send, SSE, WebSocket) is only
/// accepted with proof that it comes from Relay's own origin or an allowed one (<see cref="BffHubOrigin"/>):
/// SameSite=Strict keeps the cookie off cross-site requests, not off a sibling subdomain's.
/// </summary>
internal sealed class BffSessionResolver(BffSessions sessions, IOptions<RelayOptions> relayOptions) : IBffSessionResolver
{
    public async Task<BffTokenResolution> ResolveTokenAsync(HttpContext context)
    {
        if (!context.Request.Cookies.ContainsKey(sessions.CookieName))
        {
            return default;
        }

        if (!BffHubOrigin.IsProven(context, relayOptions.Value.AllowedOrigins))
        {
            context.Items[BffHubOrigin.RefusedKey] = true;
            return new BffTokenResolution(null, Refused: true);
        }

        BffResolution resolution;
        try
        {
            resolution = await sessions.ResolveAsync(context);
        }
        catch (UpstreamException)
        {
            return new BffTokenResolution(null, Refused: false, Unavailable: true);
        }

        if (resolution.Session is not { } session)
        {
            return new BffTokenResolution(null, Refused: true);
        }

        context.Items[BffHubConnections.SessionIdKey] = session.Id;
        return new BffTokenResolution(session.Token, Refused: false);
    }
}
