namespace Relay.Upstream;

/// <summary>
/// What a session holds for one of its PocketBase streams: its own <see cref="UpstreamConnection"/> when Relay runs
/// alone, or its share of the cluster-wide stream in cluster mode (<c>Relay.Cluster.ClusterUpstream</c>).
/// </summary>
internal interface IUpstream : IAsyncDisposable
{
    void Start();

    /// <summary>Schedules a POST (or, in cluster mode, a publication) of the session's current topic set.</summary>
    void RequestSync();

    /// <summary>
    /// Completes once PocketBase holds a topic set of at least <paramref name="version"/>; fails with
    /// <see cref="TopicRefusedException"/> when PocketBase refused <paramref name="upstreamTopic"/> itself.
    /// </summary>
    Task WaitForSyncAsync(long version, CancellationToken cancellationToken, string? upstreamTopic = null);
}
