namespace Relay.Cluster;

/// <summary>How a session stream runs on this instance (<see cref="ModeState"/>).</summary>
internal enum ClusterMode
{
    /// <summary>Following the session's Redis Stream.</summary>
    Cluster,

    /// <summary>Redis unreachable: a PocketBase stream of this instance's own, as when Relay runs alone.</summary>
    Alone,

    /// <summary>Redis is back: still alone until the cluster confirms it holds this instance's topics.</summary>
    Returning,
}
