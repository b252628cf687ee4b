using Microsoft.AspNetCore.Http.Connections;

namespace Relay.Auth;

/// <summary>
/// Where the hub's authentication gets a PocketBase token when a request carries none: BFF mode's session cookie
/// (<c>Relay.Bff.BffCredentialSource</c>), nothing otherwise (<see cref="NoCredentialSource"/>). Auth asks; the mode
/// that plugs in answers, so Auth knows no mode.
/// </summary>
internal interface ICredentialSource
{
    /// <summary>
    /// The transports a hub connection authenticated by this source may use (<c>Relay:Bff:CookieTransports</c>);
    /// <see cref="CredentialItems.AllTransports"/> when it does not restrict them.
    /// </summary>
    HttpTransportType Transports { get; }

    /// <summary>
    /// The token this request stands for; <see cref="CredentialResolution.Refused"/> for a credential that stands for no
    /// live session. A source that authenticated the request leaves the session's id under <see cref="CredentialItems.SessionIdKey"/>.
    /// </summary>
    Task<CredentialResolution> ResolveTokenAsync(HttpContext context);

    /// <summary>Writes the body of a 401 this source caused, when it has a reason to give (the status is already set).</summary>
    Task ChallengeAsync(HttpContext context);
}
