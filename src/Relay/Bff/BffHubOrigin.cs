namespace Relay.Bff;

/// <summary>
/// Whether a cookie-carrying hub request provably comes from a page of Relay's own (or an allowed) origin. SameSite=Strict
/// keeps the cookie off cross-site requests but not off same-site ones: a page on a sibling subdomain can make the
/// browser GET <c>/realtime?id=...</c> (an image, a navigation) with the cookie and without an <c>Origin</c>. So the
/// request needs an allowed <c>Origin</c>, or, where browsers send none (same-origin GETs), <c>Sec-Fetch-Site: same-origin</c>.
/// </summary>
internal static class BffHubOrigin
{
    /// <summary>Set on <see cref="HttpContext.Items"/> when a cookie was refused for want of that proof, so the answer can say why.</summary>
    public static readonly object RefusedKey = new();

    public const string RefusalCode = "cross_site_refused";

    public const string RefusalMessage = "a hub request authenticated by the session cookie must come from Relay's own origin or one of Relay:AllowedOrigins (an Origin header, or Sec-Fetch-Site: same-origin)";

    public static bool IsProven(HttpContext context, IReadOnlyCollection<string> allowedOrigins)
    {
        if (context.Request.Headers.Origin.Count > 0)
        {
            return BffCsrf.IsAllowedOrigin(context, allowedOrigins);
        }

        return context.Request.Headers["Sec-Fetch-Site"] is { Count: 1 } site && string.Equals(site[0], "same-origin", StringComparison.OrdinalIgnoreCase);
    }
}
