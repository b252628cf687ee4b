namespace Relay.Bff;

/// <summary>The server-side half of BFF sessions: in memory for one instance, in Redis when several share the load.</summary>
internal interface IBffSessionStore
{
    Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Saves <paramref name="session"/> until its <see cref="BffSession.SessionExpiresAt"/>.</summary>
    Task SetAsync(BffSession session, CancellationToken cancellationToken);

    /// <summary>
    /// Saves <paramref name="session"/> only if a session with its id is still stored: a refresh that finishes after a
    /// sign-out must not write the session back. Ids are never reused, so "still stored" means "not ended".
    /// </summary>
    /// <returns>False, and nothing written, when the session has ended or expired.</returns>
    Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken);

    Task RemoveAsync(string id, CancellationToken cancellationToken);
}
