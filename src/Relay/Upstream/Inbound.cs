namespace Relay.Upstream;

/// <summary>What the delivery loop of an <see cref="UpstreamConnection"/> processes, in order.</summary>
internal readonly record struct Inbound(InboundKind Kind, int StreamId, UpstreamEvent Event = default, long Until = 0);
