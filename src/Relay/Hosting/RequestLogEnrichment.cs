using Relay.Auth;
using Serilog;
using Serilog.Events;

namespace Relay.Hosting;

/// <summary>Adds who made a request to Serilog's request log: the PocketBase user (ids only) or "guest"; never the token.</summary>
internal static class RequestLogEnrichment
{
    public static void Enrich(IDiagnosticContext diagnostics, HttpContext context)
    {
        if (context.User.Identity is PocketBaseIdentity identity)
        {
            diagnostics.Set("UserId", identity.IsGuest ? "guest" : $"{identity.CollectionId}/{identity.RecordId}");
        }
    }

    /// <summary>
    /// Errors are Relay's failures; a 503 is Relay shedding load on purpose (PocketBase unreachable, verifications
    /// saturated, draining), answered with <c>Retry-After</c>: a warning, or a flood would bury the real errors.
    /// </summary>
    public static LogEventLevel GetLevel(HttpContext context, double elapsedMilliseconds, Exception? exception) => exception is not null
        ? LogEventLevel.Error
        : context.Response.StatusCode switch
        {
            StatusCodes.Status503ServiceUnavailable => LogEventLevel.Warning,
            >= 500 => LogEventLevel.Error,
            _ => LogEventLevel.Information,
        };
}
