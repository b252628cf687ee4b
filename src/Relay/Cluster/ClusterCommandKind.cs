namespace Relay.Cluster;

/// <summary>What a <see cref="ClusterCommand"/> asks of a session stream's loop.</summary>
internal enum ClusterCommandKind
{
    /// <summary>Only a wake-up: the signals (<see cref="ClusterSignals"/>) say why.</summary>
    Wake,

    /// <summary>A confirmation of <see cref="ClusterCommand.Versions"/> failed: confirm again at the next refresh.</summary>
    ConfirmFailed,

    /// <summary>Hand the stream over (<see cref="ClusterCommand.Done"/> completes when handed over or given up).</summary>
    HandOver,
}
