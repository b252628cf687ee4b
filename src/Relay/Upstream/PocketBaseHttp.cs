namespace Relay.Upstream;

/// <summary>Names of the HTTP clients that talk to PocketBase.</summary>
internal static class PocketBaseHttp
{
    /// <summary>Request/response calls (subscription POST, auth-refresh), bounded by <see cref="PocketBaseOptions.RequestTimeout"/>.</summary>
    public const string RestClient = "Relay.PocketBase";

    /// <summary>The long-lived SSE streams: no overall timeout (an idle timeout guards reads instead) and no retries.</summary>
    public const string StreamClient = "Relay.PocketBase.Realtime";
}
