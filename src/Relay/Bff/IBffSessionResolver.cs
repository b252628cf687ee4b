namespace Relay.Bff;

/// <summary>
/// Lets the hub's PocketBase authentication fall back to a BFF session cookie when a request carries no token.
/// </summary>
internal interface IBffSessionResolver
{
    /// <summary>The session's token; <see cref="BffTokenResolution.Refused"/> for a cookie that does not stand for a live session.</summary>
    Task<BffTokenResolution> ResolveTokenAsync(HttpContext context);
}
