namespace Relay.Upstream;

/// <summary>What the delivery loop needs to retire a rotated stream (<see cref="InboundKind.CompleteRotation"/>), once per rotation.</summary>
/// <param name="DropMatchesUntil">Timestamp until which the new stream's copies of the old one's events are dropped.</param>
/// <param name="RetiredTopics">The topics PocketBase held for the retired stream.</param>
/// <param name="MissedBefore">Timestamp: the new stream's events read before it had time to reach the retired one too.</param>
internal sealed record RotationCompletion(long DropMatchesUntil, IReadOnlySet<string> RetiredTopics, long MissedBefore);
