namespace Relay.PocketBase;

/// <summary>Names of the HTTP clients that talk to PocketBase.</summary>
internal static class PocketBaseHttp
{
    /// <summary>Request/response calls (auth-refresh, health), bounded by <see cref="PocketBaseOptions.RequestTimeout"/>.</summary>
    public const string RestClient = "Relay.PocketBase";

    /// <summary>
    /// The realtime calls: the long-lived SSE streams and their subscription POSTs, on one connection pool (current
    /// PocketBase ties a realtime client to the address that opened it). No overall timeout (an idle timeout guards
    /// stream reads, each POST has its own) and no retries.
    /// </summary>
    public const string StreamClient = "Relay.PocketBase.Realtime";
}
