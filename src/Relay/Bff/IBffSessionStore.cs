namespace Relay.Bff;

/// <summary>The server-side half of BFF sessions: in memory for one instance, in Redis when several share the load.</summary>
internal interface IBffSessionStore
{
    Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Saves <paramref name="session"/> until its <see cref="BffSession.SessionExpiresAt"/>.</summary>
    Task SetAsync(BffSession session, CancellationToken cancellationToken);

    Task RemoveAsync(string id, CancellationToken cancellationToken);
}
