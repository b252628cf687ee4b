namespace Relay.Upstream;

/// <summary>What the delivery loop of an <see cref="UpstreamConnection"/> processes, in order.</summary>
/// <param name="Kind">What this is.</param>
/// <param name="StreamId">The stream it came from or is about.</param>
/// <param name="Event">The record event (<see cref="InboundKind.Event"/>).</param>
/// <param name="Until">Timestamp until which the new stream's copies of the old one's events are dropped (<see cref="InboundKind.CompleteRotation"/>).</param>
/// <param name="RetiredTopics">The topics PocketBase held for the retired stream (<see cref="InboundKind.CompleteRotation"/>).</param>
/// <param name="MissedBefore">Timestamp: the new stream's events read before it had time to reach the retired one too (<see cref="InboundKind.CompleteRotation"/>).</param>
internal readonly record struct Inbound(InboundKind Kind, int StreamId, UpstreamEvent Event = default, long Until = 0, IReadOnlySet<string>? RetiredTopics = null, long MissedBefore = 0);
