using System.Collections.Concurrent;

namespace Relay.Bff;

/// <summary>Sessions of a single Relay instance. Expired entries are dropped when read and swept on writes.</summary>
internal sealed class MemoryBffSessionStore(TimeProvider timeProvider) : IBffSessionStore
{
    private const int SweepEvery = 256;
    private readonly ConcurrentDictionary<string, BffSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _usedOnce = new(StringComparer.Ordinal);

    // Each user's session hashes, so the per-user cap costs that user's sessions, not a walk over everyone's. Hashes
    // of ended sessions are pruned when their user signs in again or by the sweep.
    private readonly Lock _userGate = new();
    private readonly Dictionary<string, List<string>> _byUser = new(StringComparer.Ordinal);
    private int _writes;

    /// <summary>Stored sessions, expired ones included until swept (for tests and diagnostics).</summary>
    public IReadOnlyCollection<BffSession> All => [.. _sessions.Values];

    public Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var hash = BffSessionHash.Of(id);
        if (_sessions.TryGetValue(hash, out var session))
        {
            if (IsLive(session))
            {
                return Task.FromResult<BffSession?>(session);
            }

            _sessions.TryRemove(KeyValuePair.Create(hash, session));
        }

        return Task.FromResult<BffSession?>(null);
    }

    public Task SetAsync(BffSession session, CancellationToken cancellationToken)
    {
        var hash = BffSessionHash.Of(session.Id);
        _sessions[hash] = session;
        lock (_userGate)
        {
            if (!_byUser.TryGetValue(UserKey(session), out var hashes))
            {
                _byUser[UserKey(session)] = hashes = [];
            }

            if (!hashes.Contains(hash))
            {
                hashes.Add(hash);
            }
        }

        if (Interlocked.Increment(ref _writes) % SweepEvery == 0)
        {
            Sweep();
        }

        return Task.CompletedTask;
    }

    public Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken)
    {
        // Compare-and-swap against whatever is stored, so a removal in between is never undone.
        var hash = BffSessionHash.Of(session.Id);
        while (_sessions.TryGetValue(hash, out var current))
        {
            if (!IsLive(current))
            {
                _sessions.TryRemove(KeyValuePair.Create(hash, current));
                break;
            }

            if (_sessions.TryUpdate(hash, session, current))
            {
                return Task.FromResult(true);
            }
        }

        return Task.FromResult(false);
    }

    public Task RemoveAsync(string hash, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(hash, out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> TrimUserAsync(BffSession newest, int maxPerUser, CancellationToken cancellationToken)
    {
        // Serialized so two sign-ins of one user cannot both see room for themselves.
        lock (_userGate)
        {
            if (!_byUser.TryGetValue(UserKey(newest), out var hashes))
            {
                return Task.FromResult<IReadOnlyList<string>>([]);
            }

            var newestHash = BffSessionHash.Of(newest.Id);
            hashes.RemoveAll(hash => !_sessions.TryGetValue(hash, out var session) || !IsLive(session));
            var others = hashes.Where(hash => hash != newestHash).OrderBy(hash => _sessions.TryGetValue(hash, out var session) ? session.SessionExpiresAt : DateTimeOffset.MinValue).ToList();
            var ended = others.Take(Math.Max(0, others.Count + 1 - maxPerUser)).ToList();
            foreach (var hash in ended)
            {
                _sessions.TryRemove(hash, out _);
                hashes.Remove(hash);
            }

            return Task.FromResult<IReadOnlyList<string>>(ended);
        }
    }

    public Task<IReadOnlySet<string>> LiveAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlySet<string>>(hashes.Where(hash => _sessions.TryGetValue(hash, out var session) && IsLive(session)).ToHashSet(StringComparer.Ordinal));

    public Task<bool> TryUseOnceAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (used, until) in _usedOnce)
        {
            if (until <= now)
            {
                _usedOnce.TryRemove(KeyValuePair.Create(used, until));
            }
        }

        return Task.FromResult(_usedOnce.TryAdd(key, now + lifetime));
    }

    private static string UserKey(BffSession session) => session.CollectionId + "/" + session.RecordId;

    private bool IsLive(BffSession session) => session.SessionExpiresAt > timeProvider.GetUtcNow();

    private void Sweep()
    {
        foreach (var (hash, existing) in _sessions)
        {
            if (!IsLive(existing))
            {
                _sessions.TryRemove(KeyValuePair.Create(hash, existing));
            }
        }

        lock (_userGate)
        {
            foreach (var (user, hashes) in _byUser.ToList())
            {
                hashes.RemoveAll(hash => !_sessions.ContainsKey(hash));
                if (hashes.Count == 0)
                {
                    _byUser.Remove(user);
                }
            }
        }
    }
}
