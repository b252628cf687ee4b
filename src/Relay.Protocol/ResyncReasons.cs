namespace Relay.Client.Protocol;

/// <summary>The values of <see cref="ResyncSignal.Reason"/>.</summary>
public static class ResyncReasons
{
    /// <summary>Relay's stream from PocketBase was re-established; PocketBase does not replay the gap.</summary>
    public const string UpstreamReconnected = "upstream_reconnected";

    /// <summary>The connection read too slowly and Relay dropped queued events for it.</summary>
    public const string Overflow = "overflow";

    /// <summary>The client reconnected to Relay without a stateful reconnect (raised locally by clients).</summary>
    public const string Reconnected = "reconnected";
}
