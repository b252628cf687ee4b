using System.Text.Json;

namespace Relay.Upstream;

/// <summary>A record change as received on a session's stream.</summary>
/// <param name="UpstreamTopic">The topic exactly as it was subscribed upstream, options included.</param>
/// <param name="Action">create, update or delete.</param>
/// <param name="Record">The record JSON as PocketBase sent it.</param>
/// <param name="ReceivedTimestamp"><see cref="TimeProvider.GetTimestamp"/> when the message was parsed; feeds the delivery-lag metric.</param>
internal readonly record struct UpstreamEvent(string UpstreamTopic, string Action, JsonElement Record, long ReceivedTimestamp)
{
    /// <summary>In cluster mode, the event's offset in the session's Redis Stream (<c>EPOCH-MS-SEQ</c>); null when read from a stream of this instance's own.</summary>
    public string? LogOffset { get; init; }
}
