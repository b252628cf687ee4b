namespace Relay.Bff;

/// <summary>BFF mode is off: cookies mean nothing to the hub.</summary>
internal sealed class NoBffSessionResolver : IBffSessionResolver
{
    public Task<BffTokenResolution> ResolveTokenAsync(HttpContext context) => Task.FromResult(default(BffTokenResolution));
}
