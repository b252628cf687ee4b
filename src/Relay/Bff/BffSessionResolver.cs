using Microsoft.Extensions.Options;
using Relay.Upstream;

namespace Relay.Bff;

/// <summary>
/// The hub's view of a session cookie. A cookie-authenticated WebSocket is only accepted from Relay's own origin (or an
/// allowed one): SameSite=Strict already keeps the cookie off cross-site requests, and this refuses cross-site
/// WebSocket hijacking even where a browser does not honour it.
/// </summary>
internal sealed class BffSessionResolver(BffSessions sessions, IOptions<RelayOptions> relayOptions) : IBffSessionResolver
{
    public async Task<BffTokenResolution> ResolveTokenAsync(HttpContext context)
    {
        if (!context.Request.Cookies.ContainsKey(sessions.CookieName))
        {
            return default;
        }

        if (!BffCsrf.IsAllowedOrigin(context, relayOptions.Value.AllowedOrigins))
        {
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
