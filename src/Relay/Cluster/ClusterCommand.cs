namespace Relay.Cluster;

/// <summary>One command to a session stream's loop (<see cref="ClusterInbox"/>).</summary>
internal readonly record struct ClusterCommand(
    ClusterCommandKind Kind,
    string? Versions = null,
    TaskCompletionSource? Done = null);
