namespace Relay.Upstream;

/// <summary>What the delivery loop of an <see cref="UpstreamConnection"/> processes, in order.</summary>
/// <param name="Kind">What this is.</param>
/// <param name="StreamId">The stream it came from or is about.</param>
/// <param name="Event">The record event (<see cref="InboundKind.Event"/>).</param>
/// <param name="Completion">The retirement of a rotated stream (<see cref="InboundKind.CompleteRotation"/>): one reference, so the per-event items stay small.</param>
internal readonly record struct Inbound(InboundKind Kind, int StreamId, UpstreamEvent Event = default, RotationCompletion? Completion = null);
