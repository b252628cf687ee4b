using Microsoft.Extensions.Options;

namespace Relay.Bff;

/// <summary>
/// Cross-site request forgery defence (Duende BFF's convention): every BFF or proxied request that is not GET or HEAD
/// carries <c>X-CSRF: 1</c>, which a cross-site form cannot set and a cross-site script cannot send without a CORS
/// preflight Relay does not grant; an <c>Origin</c>, when present, must be Relay's own or an allowed one.
/// </summary>
internal static partial class BffCsrf
{
    /// <summary>Null when the request may proceed; otherwise why not.</summary>
    public static string? Check(HttpContext context, IReadOnlyCollection<string> allowedOrigins)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return null;
        }

        if (context.Request.Headers[BffDefaults.CsrfHeader] is not { Count: 1 } header || header[0] != "1")
        {
            return $"a {method} request must carry the header {BffDefaults.CsrfHeader}: 1";
        }

        return IsAllowedOrigin(context, allowedOrigins) ? null : "the request's Origin is neither Relay's own nor allowed";
    }

    /// <summary>True when the request has no <c>Origin</c>, or it is Relay's own origin or one of <paramref name="allowedOrigins"/>.</summary>
    public static bool IsAllowedOrigin(HttpContext context, IReadOnlyCollection<string> allowedOrigins)
    {
        var origins = context.Request.Headers.Origin;
        if (origins.Count == 0)
        {
            return true;
        }

        if (origins.Count > 1)
        {
            return false;
        }

        return IsOwnOrAllowed(context, origins[0]!, allowedOrigins);
    }

    private static bool IsOwnOrAllowed(HttpContext context, string origin, IReadOnlyCollection<string> allowedOrigins)
    {
        var own = $"{context.Request.Scheme}://{context.Request.Host.Value}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) || IsAllowed(origin, allowedOrigins);
    }

    private static bool IsAllowed(string origin, IReadOnlyCollection<string> allowedOrigins)
        => allowedOrigins.Any(allowed => string.Equals(origin, allowed.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// For a GET that starts something (an OAuth2 sign-in): true only when the browser says the request came from Relay's
    /// own pages or the user (<c>Sec-Fetch-Site: same-origin</c> or <c>none</c>), or from a page of one of
    /// <paramref name="allowedOrigins"/> (its <c>Referer</c>: a navigation carries no <c>Origin</c>); without
    /// <c>Sec-Fetch-Site</c> (older browsers), when its <c>Origin</c> or <c>Referer</c> is Relay's own or allowed. A request
    /// that says nothing is refused: another site or a sibling subdomain could otherwise spend the victim's sign-in budget.
    /// </summary>
    public static bool IsSameOriginNavigation(HttpContext context, IReadOnlyCollection<string> allowedOrigins)
    {
        var site = context.Request.Headers["Sec-Fetch-Site"];
        if (site.Count > 0)
        {
            return (site is { Count: 1 } && (site[0] == "same-origin" || site[0] == "none"))
                || (RefererOrigin(context) is { } referer && IsAllowed(referer, allowedOrigins));
        }

        if (context.Request.Headers.Origin.Count > 0)
        {
            return IsAllowedOrigin(context, allowedOrigins);
        }

        return RefererOrigin(context) is { } origin && IsOwnOrAllowed(context, origin, allowedOrigins);
    }

    private static string? RefererOrigin(HttpContext context)
        => Uri.TryCreate(context.Request.Headers.Referer.ToString(), UriKind.Absolute, out var referer) ? referer.GetLeftPart(UriPartial.Authority) : null;

    /// <summary>An endpoint filter for <c>/bff/*</c>: refuses with 403 before the handler runs.</summary>
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var services = context.RequestServices;
        var refusal = Check(context, services.GetRequiredService<IOptions<RelayOptions>>().Value.AllowedOrigins);
        if (refusal is null)
        {
            return await next(invocation);
        }

        Log.Refused(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BffCsrf)), context.Request.Method, context.Request.Path.Value ?? string.Empty, refusal);
        return new BffError(BffErrorCodes.CsrfRefused, refusal).ToResult(StatusCodes.Status403Forbidden);
    }

    internal static partial class Log
    {
        [LoggerMessage(7010, LogLevel.Information, "Refused {Method} {Path} as a possible cross-site request: {Reason}.")]
        public static partial void Refused(ILogger logger, string method, string path, string reason);
    }
}
