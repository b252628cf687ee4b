using Relay.Fanout;
using Relay.PocketBase;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// Everything Relay holds for one user (or for all guests): the connections, the union of their topics, and the single
/// PocketBase stream subscribed with the user's own token. Because PocketBase filters that stream by the user's rules and
/// its events are routed only to this session's connections, no user can receive what PocketBase would not send them.
/// </summary>
internal sealed partial class UserSession : IConnectionOwner, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TopicRoute> _routes = new(StringComparer.Ordinal);
    // Each attached connection with its subscriptions (bare topic -> upstream topic); this session is their only owner.
    private readonly Dictionary<RelayConnection, Dictionary<string, string>> _connections = [];
    private readonly Func<IUpstreamSubscriber, IUpstream> _upstreamFactory;
    private readonly TimeProvider _timeProvider;
    private readonly PocketBaseRealtimeClient _filterChecker;
    private readonly FanoutDispatcher _fanout;
    private readonly int _topicsPerStream;
    private readonly int _maxStreams;
    private readonly List<UpstreamShard> _shards = [];
    private readonly ISessionEventLog _log;
    private readonly TimeSpan _routeLinger;
    private ITimer? _lingerSweep;
    private long _version;
    private string? _token;
    private DateTimeOffset _expiresAt;
    private bool _closed;

    // topicsPerStream: the most topics held on one PocketBase stream; maxStreams: the most streams this session opens
    // (1 for a user; the guest session spreads its topics over several).
    public UserSession(
        SessionKey key,
        string? token,
        DateTimeOffset expiresAt,
        Func<IUpstreamSubscriber, IUpstream> upstreamFactory,
        FanoutDispatcher fanout,
        int topicsPerStream,
        int maxStreams,
        TimeProvider timeProvider,
        PocketBaseRealtimeClient filterChecker,
        ISessionEventLog eventLog,
        TimeSpan routeLinger)
    {
        _log = eventLog;
        _routeLinger = routeLinger;
        _filterChecker = filterChecker;
        _timeProvider = timeProvider;
        Key = key;
        _token = token;
        _expiresAt = expiresAt;
        _upstreamFactory = upstreamFactory;
        _fanout = fanout;
        _topicsPerStream = topicsPerStream;
        _maxStreams = maxStreams;
    }

    public SessionKey Key { get; }

    public string Name => Key.ToString();

    public string? Token => Volatile.Read(ref _token);

    /// <summary>Connections attached.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Topics currently held upstream (for tests and diagnostics).</summary>
    public int TopicCount
    {
        get
        {
            lock (_gate)
            {
                return _routes.Count;
            }
        }
    }

    /// <summary>PocketBase streams this session holds (for tests and diagnostics).</summary>
    public int StreamCount
    {
        get
        {
            lock (_gate)
            {
                return _shards.Count(static shard => shard.Connection is not null);
            }
        }
    }

    /// <summary>A snapshot of the attached connections.</summary>
    public IReadOnlyList<RelayConnection> Connections
    {
        get
        {
            lock (_gate)
            {
                return [.. _connections.Keys];
            }
        }
    }

    /// <summary>When <see cref="Token"/> expires; <see cref="DateTimeOffset.MaxValue"/> for guests.</summary>
    public DateTimeOffset ExpiresAt
    {
        get
        {
            lock (_gate)
            {
                return _expiresAt;
            }
        }
    }

    /// <summary>
    /// Uses <paramref name="token"/>, verified by PocketBase for this same user, from now on. Posted to PocketBase at
    /// once, so the stream's stored auth follows the token (PocketBase refuses a later post with an expired one).
    /// </summary>
    public void UseToken(string token, DateTimeOffset expiresAt)
    {
        IUpstream?[] upstreams;
        lock (_gate)
        {
            if (expiresAt < _expiresAt || string.Equals(token, _token, StringComparison.Ordinal))
            {
                // An older token than the one held (a tab connecting with a token issued earlier): keep the fresher one.
                // The very token held (every other tab of the user connecting with it): posting the subscriptions again
                // with the same auth changes nothing in PocketBase and costs a call against its per-address rate limit.
                return;
            }

            _expiresAt = expiresAt;
            Volatile.Write(ref _token, token);
            upstreams = [.. _shards.Select(static shard => shard.Connection)];
        }

        foreach (var upstream in upstreams)
        {
            upstream?.RequestSync();
        }

        RaiseTokenChanged();
    }

    public void AddConnection(RelayConnection connection)
    {
        lock (_gate)
        {
            _connections.TryAdd(connection, new Dictionary<string, string>(StringComparer.Ordinal));
        }
    }

    /// <summary>Detaches <paramref name="connection"/> and drops its topics; returns the connections left.</summary>
    public int RemoveConnection(RelayConnection connection)
    {
        HashSet<IUpstream> changed = [];
        int left;
        lock (_gate)
        {
            if (_connections.Remove(connection, out var subscriptions))
            {
                foreach (var upstreamTopic in subscriptions.Values)
                {
                    // A dropped connection's topics stay held a while: when it reconnects, its history is complete.
                    if (RemoveFromRoute(connection, upstreamTopic, linger: true)?.Connection is { } upstream)
                    {
                        changed.Add(upstream);
                    }
                }
            }

            left = _connections.Count;
        }

        foreach (var upstream in changed)
        {
            upstream.RequestSync();
        }

        return left;
    }

    public async ValueTask DisposeAsync()
    {
        List<IUpstream> upstreams = [];
        lock (_gate)
        {
            _closed = true;
            _held?.Writer.TryComplete();
            _lingerSweep?.Dispose();
            _lingerSweep = null;
            foreach (var shard in _shards)
            {
                if (shard.Connection is { } upstream)
                {
                    upstreams.Add(upstream);
                    shard.Connection = null;
                }
            }
        }

        foreach (var upstream in upstreams)
        {
            await upstream.DisposeAsync();
        }
    }
}
