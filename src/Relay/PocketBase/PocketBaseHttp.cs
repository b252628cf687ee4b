namespace Relay.PocketBase;

/// <summary>Names of the HTTP clients that talk to PocketBase.</summary>
internal static class PocketBaseHttp
{
    /// <summary>
    /// The superuser's calls alone (<see cref="PocketBaseCollectionsClient"/>): every header value is redacted from this
    /// client's logs, whatever the level, since they carry the superuser token.
    /// </summary>
    public const string SchemaClient = "Relay.PocketBase.Schema";

    /// <summary>Request/response calls (auth-refresh, sign-in, file tokens, health), bounded by <see cref="PocketBaseOptions.RequestTimeout"/>.</summary>
    public const string RestClient = "Relay.PocketBase";

    /// <summary>
    /// The realtime calls: the long-lived SSE streams and their subscription POSTs, on one connection pool (current
    /// PocketBase ties a realtime client to the address that opened it). No overall timeout (an idle timeout guards
    /// stream reads, each POST has its own) and no retries.
    /// </summary>
    public const string StreamClient = "Relay.PocketBase.Realtime";
}
