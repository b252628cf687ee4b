namespace Relay.Bff;

/// <summary>
/// The server-side half of BFF sessions: in memory for one instance, in Redis when several share the load. Sessions are
/// stored under <see cref="BffSessionHash"/> of their id, never the id itself.
/// </summary>
internal interface IBffSessionStore
{
    Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Saves <paramref name="session"/> until its <see cref="BffSession.SessionExpiresAt"/> and counts it among its user's sessions.</summary>
    Task SetAsync(BffSession session, CancellationToken cancellationToken);

    /// <summary>
    /// Saves <paramref name="session"/> only if a session with its id is still stored: a refresh that finishes after a
    /// sign-out must not write the session back. Ids are never reused, so "still stored" means "not ended".
    /// </summary>
    /// <returns>False, and nothing written, when the session has ended or expired.</returns>
    Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken);

    /// <summary>Ends the session whose id hashes to <paramref name="hash"/>; other instances are told to close its hub connections.</summary>
    Task RemoveAsync(string hash, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the oldest sessions of <paramref name="newest"/>'s user until at most <paramref name="maxPerUser"/> are live
    /// (the newest is never ended); returns the hashes of those ended.
    /// </summary>
    Task<IReadOnlyList<string>> TrimUserAsync(BffSession newest, int maxPerUser, CancellationToken cancellationToken);

    /// <summary>Of <paramref name="hashes"/>, those whose session is still stored and not expired.</summary>
    Task<IReadOnlySet<string>> LiveAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken);

    /// <summary>
    /// True the first time <paramref name="key"/> is presented within <paramref name="lifetime"/>, false ever after: what
    /// makes an OAuth2 callback single-use across instances.
    /// </summary>
    Task<bool> TryUseOnceAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken);
}
