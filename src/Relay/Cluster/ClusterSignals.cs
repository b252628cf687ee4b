namespace Relay.Cluster;

/// <summary>What woke a session stream's loop (<see cref="ClusterInbox"/>); coalesced, so a burst is one pass.</summary>
[Flags]
internal enum ClusterSignals
{
    None = 0,

    /// <summary>Entries were appended to the Stream (or a notification may have been lost): read it.</summary>
    Appended = 1,

    /// <summary>Another incarnation's topics changed: the owner recomputes the union.</summary>
    TopicsChanged = 2,

    /// <summary>The owner starts a handover: look at the lease keys now rather than at the next renewal.</summary>
    HandoverStarting = 4,

    /// <summary>This session's own topics changed: publish them (and recompute the union when owning).</summary>
    TopicsDirty = 8,
}
