using System.Collections.Concurrent;

namespace Relay.Bff;

/// <summary>Sessions of a single Relay instance. Expired entries are dropped when read and swept on writes.</summary>
internal sealed class MemoryBffSessionStore(TimeProvider timeProvider) : IBffSessionStore
{
    private const int SweepEvery = 256;
    private readonly ConcurrentDictionary<string, BffSession> _sessions = new(StringComparer.Ordinal);
    private int _writes;

    /// <summary>Stored sessions, expired ones included until swept (for tests and diagnostics).</summary>
    public IReadOnlyCollection<BffSession> All => [.. _sessions.Values];

    public Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(id, out var session))
        {
            if (session.SessionExpiresAt > timeProvider.GetUtcNow())
            {
                return Task.FromResult<BffSession?>(session);
            }

            _sessions.TryRemove(KeyValuePair.Create(id, session));
        }

        return Task.FromResult<BffSession?>(null);
    }

    public Task SetAsync(BffSession session, CancellationToken cancellationToken)
    {
        _sessions[session.Id] = session;
        if (Interlocked.Increment(ref _writes) % SweepEvery == 0)
        {
            var now = timeProvider.GetUtcNow();
            foreach (var (id, existing) in _sessions)
            {
                if (existing.SessionExpiresAt <= now)
                {
                    _sessions.TryRemove(KeyValuePair.Create(id, existing));
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken)
    {
        // Compare-and-swap against whatever is stored, so a removal in between is never undone.
        while (_sessions.TryGetValue(session.Id, out var current))
        {
            if (current.SessionExpiresAt <= timeProvider.GetUtcNow())
            {
                _sessions.TryRemove(KeyValuePair.Create(session.Id, current));
                break;
            }

            if (_sessions.TryUpdate(session.Id, session, current))
            {
                return Task.FromResult(true);
            }
        }

        return Task.FromResult(false);
    }

    public Task RemoveAsync(string id, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(id, out _);
        return Task.CompletedTask;
    }
}
