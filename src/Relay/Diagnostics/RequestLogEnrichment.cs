using Relay.Auth;
using Serilog;

namespace Relay.Diagnostics;

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
}
