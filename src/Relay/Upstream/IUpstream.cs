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

    /// <summary>
    /// Moves the stream to another user's <paramref name="token"/> without a gap (a class stream's new holder): a new
    /// stream is set up with it and the old one read for an overlap, as in a rotation. <paramref name="commit"/> runs
    /// when the new stream becomes current, under the POST gate: the subscriber's token must be the new one from then on.
    /// </summary>
    /// <returns>False when it could not be done (not supported, no live stream, the new stream failed): the old one is kept.</returns>
    Task<bool> ChangeHolderAsync(string token, Action commit, CancellationToken cancellationToken);
}
