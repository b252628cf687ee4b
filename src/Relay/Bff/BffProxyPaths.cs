using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// Which <c>/api/*</c> paths the BFF proxy refuses. The browser acts with its user's token, never a superuser's (those
/// are refused at sign-in), so PocketBase would refuse its admin API anyway; refusing it here as well keeps PocketBase's
/// admin surface off Relay's public origin whatever PocketBase's version or rules, and keeps every token - auth, file or
/// impersonation - out of the browser. Paths are compared by segment, case-insensitively, empty segments ignored.
/// </summary>
internal static class BffProxyPaths
{
    /// <summary>Top-level <c>/api/{segment}</c> endpoints that are PocketBase's admin API (0.22 and 0.23+), never proxied.</summary>
    public static readonly string[] AdminEndpoints = ["settings", "logs", "backups", "crons", "admins", "batch"];

    /// <summary>
    /// What a browser may call under <c>/api/collections/{collection}/</c>: records, the public auth-methods list and the
    /// e-mail flows that issue no token. Everything else there (the collection itself, import, scaffolds, truncate,
    /// <c>auth-*</c>, impersonate, anything a later version adds) is admin API or hands out a token.
    /// </summary>
    public static readonly string[] CollectionActions =
    [
        "records", "auth-methods", "request-otp", "request-password-reset", "confirm-password-reset",
        "request-verification", "confirm-verification", "request-email-change", "confirm-email-change",
    ];

    /// <summary>Null when <paramref name="path"/> may be forwarded; otherwise the refusal.</summary>
    public static BffError? NotProxied(PathString path)
    {
        var raw = path.Value ?? string.Empty;
        if (raw.Contains("%2f", StringComparison.OrdinalIgnoreCase) || raw.Contains("%5c", StringComparison.OrdinalIgnoreCase) || raw.Contains('\\'))
        {
            // An encoded separator could be split differently by PocketBase's router than by the segment rules below.
            return new BffError(BffErrorCodes.NotProxied, "encoded path separators are not proxied");
        }

        var segments = raw.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 2)
        {
            return null;
        }

        var endpoint = segments[1];
        if (Is(endpoint, "realtime"))
        {
            return new BffError(BffErrorCodes.UseTheHub, "realtime goes through Relay's hub, not /api/realtime");
        }

        if (AdminEndpoints.Any(admin => Is(endpoint, admin)))
        {
            return Is(endpoint, "admins") && segments.Length >= 3 && segments[2].StartsWith("auth-", StringComparison.OrdinalIgnoreCase)
                ? TokenRefusal()
                : new BffError(BffErrorCodes.NotProxied, $"PocketBase's /api/{endpoint} is admin API, which Relay does not proxy");
        }

        if (Is(endpoint, "files"))
        {
            // Relay fetches file tokens itself when it proxies a protected file; the browser never holds one.
            return segments.Length == 3 && Is(segments[2], "token") ? TokenRefusal() : null;
        }

        if (!Is(endpoint, "collections"))
        {
            return null;
        }

        if (segments.Length >= 3 && PocketBaseAuthAnswer.IsSuperusersCollection(segments[2]))
        {
            return new BffError(BffErrorCodes.NotProxied, "the superusers collection is admin API, which Relay does not proxy");
        }

        if (segments.Length >= 4 && (segments[3].StartsWith("auth-with-", StringComparison.OrdinalIgnoreCase) || Is(segments[3], "auth-refresh") || Is(segments[3], "impersonate")))
        {
            return TokenRefusal();
        }

        return segments.Length >= 4 && CollectionActions.Any(action => Is(segments[3], action))
            ? null
            : new BffError(BffErrorCodes.NotProxied, "PocketBase's collection management is admin API, which Relay does not proxy");
    }

    private static bool Is(string segment, string name) => segment.Equals(name, StringComparison.OrdinalIgnoreCase);

    private static BffError TokenRefusal()
        => new(BffErrorCodes.NotProxied, "sign-in and tokens go through /bff/*; the browser never receives a token");
}
