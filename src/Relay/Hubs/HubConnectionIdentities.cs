using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Relay.Hubs;

/// <summary>
/// The identity each hub connection negotiated with, by connection token (what <c>?id=</c> carries): SignalR itself lets
/// any request that knows a long-polling or SSE connection's token poll or send on it, whoever makes it, and a
/// long-polling connection takes the identity of its first poll. <see cref="ConnectionIdentityGate"/> holds every later
/// request to this record. A hub filter: entries end with their connection, and negotiated connections that never
/// start (SignalR drops them after its disconnect timeout) are swept after <see cref="UnstartedLifetime"/>.
/// </summary>
internal sealed class HubConnectionIdentities(TimeProvider timeProvider) : IHubFilter
{
    /// <summary>Far beyond SignalR's own limits for a negotiated connection to start (15 s) and to hand over its handshake (15 s).</summary>
    public static readonly TimeSpan UnstartedLifetime = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, Entry> _byToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _tokenById = new(StringComparer.Ordinal);
    // In negotiate order, so a sweep only looks at the oldest entries: O(1) per negotiate, amortized.
    private readonly ConcurrentQueue<(string Token, long NegotiatedAt)> _unstarted = new();

    /// <summary>Connections known (for tests and diagnostics).</summary>
    public int Count => _byToken.Count;

    public void Negotiated(string token, string connectionId, HubIdentity identity)
    {
        var now = timeProvider.GetTimestamp();
        SweepUnstarted(now);
        _byToken[token] = new Entry(identity, connectionId);
        _tokenById[connectionId] = token;
        _unstarted.Enqueue((token, now));
    }

    /// <summary>The identity connection <paramref name="token"/> negotiated with; false for a token never negotiated here (or ended).</summary>
    public bool TryGet(string token, out HubIdentity identity)
    {
        if (_byToken.TryGetValue(token, out var entry))
        {
            identity = entry.Identity;
            return true;
        }

        identity = default;
        return false;
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        if (_tokenById.TryGetValue(context.Context.ConnectionId, out var token) && _byToken.TryGetValue(token, out var entry))
        {
            entry.Started = true;
        }

        await next(context);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (_tokenById.TryRemove(context.Context.ConnectionId, out var token))
            {
                _byToken.TryRemove(token, out _);
            }
        }
    }

    private void SweepUnstarted(long now)
    {
        while (_unstarted.TryPeek(out var oldest) && timeProvider.GetElapsedTime(oldest.NegotiatedAt, now) > UnstartedLifetime && _unstarted.TryDequeue(out oldest))
        {
            // A started connection stays until its hub disconnect; only one that never started is let go here.
            if (_byToken.TryGetValue(oldest.Token, out var entry) && !entry.Started && _byToken.TryRemove(oldest.Token, out _))
            {
                _tokenById.TryRemove(entry.ConnectionId, out _);
            }
        }
    }

    private sealed class Entry(HubIdentity identity, string connectionId)
    {
        private volatile bool _started;

        public HubIdentity Identity { get; } = identity;

        public string ConnectionId { get; } = connectionId;

        public bool Started
        {
            get => _started;
            set => _started = value;
        }
    }
}
