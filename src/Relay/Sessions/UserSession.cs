using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// Everything Relay holds for one user (or for all guests): the connections, the union of their topics, and the single
/// PocketBase stream subscribed with the user's own token. Because PocketBase filters that stream by the user's rules and
/// its events are routed only to this session's connections, no user can receive what PocketBase would not send them.
/// </summary>
internal sealed class UserSession : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TopicRoute> _routes = new(StringComparer.Ordinal);
    // Each attached connection with its subscriptions (bare topic -> upstream topic); this session is their only owner.
    private readonly Dictionary<RelayConnection, Dictionary<string, string>> _connections = [];
    private readonly Func<IUpstreamSubscriber, UpstreamConnection> _upstreamFactory;
    private readonly TimeProvider _timeProvider;
    private readonly PocketBaseRealtimeClient? _filterChecker;
    private readonly FanoutDispatcher _fanout;
    private readonly int _topicsPerStream;
    private readonly int _maxStreams;
    private readonly List<UpstreamShard> _shards = [];
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
        Func<IUpstreamSubscriber, UpstreamConnection> upstreamFactory,
        FanoutDispatcher fanout,
        int topicsPerStream,
        int maxStreams,
        TimeProvider timeProvider,
        PocketBaseRealtimeClient? filterChecker = null)
    {
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
        UpstreamConnection?[] upstreams;
        lock (_gate)
        {
            if (expiresAt < _expiresAt)
            {
                // An older token than the one held (a tab connecting with a token issued earlier): keep the fresher one.
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
        HashSet<UpstreamConnection> changed = [];
        int left;
        lock (_gate)
        {
            if (_connections.Remove(connection, out var subscriptions))
            {
                foreach (var upstreamTopic in subscriptions.Values)
                {
                    if (RemoveFromRoute(connection, upstreamTopic)?.Connection is { } upstream)
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

    /// <summary>
    /// Adds (or, with other options, replaces) <paramref name="connection"/>'s subscription and completes once PocketBase
    /// holds the topic, so every change committed after this returns reaches the connection.
    /// </summary>
    /// <exception cref="SubscriptionException">
    /// The connection or session holds too many topics (<c>too_many_subscriptions</c>), PocketBase refused the topic
    /// (<c>subscription_refused</c>), or did not accept it in time (<c>upstream_unavailable</c>).
    /// </exception>
    public async Task SubscribeAsync(RelayConnection connection, TopicSubscription request, int maxPerConnection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await CheckFilterAsync(request, cancellationToken);
        long waitVersion;
        UpstreamConnection? replacedOn = null;
        UpstreamConnection upstream;
        lock (_gate)
        {
            if (_closed || !_connections.TryGetValue(connection, out var subscriptions))
            {
                // The connection is closing; nothing will be delivered to it any more.
                return;
            }

            var hasCurrent = subscriptions.TryGetValue(request.Topic, out var current);
            if (!hasCurrent && subscriptions.Count >= maxPerConnection)
            {
                throw new SubscriptionException(
                    RelayErrorCodes.TooManySubscriptions,
                    $"this connection already holds {subscriptions.Count} subscriptions (Relay:MaxSubscriptionsPerConnection)");
            }

            if (!_routes.TryGetValue(request.UpstreamTopic, out var route))
            {
                var shard = PickShard() ?? throw new SubscriptionException(
                    RelayErrorCodes.TooManySubscriptions,
                    Key.IsGuest
                        ? $"the guests' connections already hold {_routes.Count} distinct topics (Relay:Sessions:GuestTopicsPerStream x MaxGuestStreams)"
                        : $"this user's connections already hold {_routes.Count} distinct topics (Relay:Sessions:MaxTopicsPerSession)");
                route = new TopicRoute(request.Topic, ++_version, shard);
                shard.TopicCount++;
                _routes.Add(request.UpstreamTopic, route);
            }

            if (current != request.UpstreamTopic)
            {
                if (hasCurrent)
                {
                    // The old options' topic may live on another stream, which must drop it too.
                    replacedOn = RemoveFromRoute(connection, current!)?.Connection;
                }

                route.Add(connection);
                subscriptions[request.Topic] = request.UpstreamTopic;
            }

            waitVersion = route.AddedVersion;
            upstream = route.Shard.Connection ??= StartUpstream(route.Shard);
        }

        if (replacedOn != upstream)
        {
            replacedOn?.RequestSync();
        }

        try
        {
            await upstream.WaitForSyncAsync(waitVersion, cancellationToken, request.UpstreamTopic).WaitAsync(timeout, _timeProvider, cancellationToken);
        }
        catch (TopicRefusedException ex)
        {
            // The route is already gone (OnTopicsRefused); nothing else of the session changed.
            Unsubscribe(connection, request.Topic, request.UpstreamTopic);
            throw new SubscriptionException(RelayErrorCodes.SubscriptionRefused, ex.Message);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Unsubscribe(connection, request.Topic, request.UpstreamTopic);
            var reason = ex is TimeoutException ? $"PocketBase did not accept the subscription within {timeout.TotalSeconds:0.#} s" : "PocketBase is unreachable";
            throw new SubscriptionException(RelayErrorCodes.UpstreamUnavailable, reason + "; retry later");
        }
    }

    /// <summary>
    /// A filter PocketBase cannot evaluate is accepted by its subscription POST and then silently matches nothing, so a
    /// new topic with a filter is first checked with PocketBase (once per session and topic: a held topic was checked).
    /// A refusal leaves the session untouched.
    /// </summary>
    private async Task CheckFilterAsync(TopicSubscription request, CancellationToken cancellationToken)
    {
        if (request.Filter is not { } filter || _filterChecker is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_routes.ContainsKey(request.UpstreamTopic))
            {
                return;
            }
        }

        var collection = request.Topic[..request.Topic.IndexOf('/', StringComparison.Ordinal)];
        if (await _filterChecker.CheckFilterAsync(collection, filter, Token, cancellationToken) is { } refusal)
        {
            throw new SubscriptionException(RelayErrorCodes.SubscriptionRefused, refusal.Message);
        }
    }

    /// <summary>Removes <paramref name="connection"/>'s subscription to <paramref name="topic"/> at once; unknown topics are ignored.</summary>
    public void Unsubscribe(RelayConnection connection, string topic) => Unsubscribe(connection, topic, expected: null);

    // With expected set, the subscription is removed only if it still maps to that upstream topic: a failed subscribe
    // must not undo a later one with other options.
    private void Unsubscribe(RelayConnection connection, string topic, string? expected)
    {
        UpstreamConnection? upstream;
        lock (_gate)
        {
            if (!_connections.TryGetValue(connection, out var subscriptions)
                || !subscriptions.TryGetValue(topic, out var upstreamTopic)
                || (expected is not null && upstreamTopic != expected))
            {
                return;
            }

            subscriptions.Remove(topic);
            upstream = RemoveFromRoute(connection, upstreamTopic)?.Connection;
        }

        upstream?.RequestSync();
    }

    public IReadOnlyList<string> GetTopicsOf(RelayConnection connection)
    {
        lock (_gate)
        {
            return _connections.TryGetValue(connection, out var subscriptions) ? [.. subscriptions.Keys] : [];
        }
    }

    /// <summary>The topics held on <paramref name="shard"/>'s stream.</summary>
    public TopicSnapshot GetTopics(UpstreamShard shard)
    {
        lock (_gate)
        {
            var topics = new List<string>(shard.TopicCount);
            foreach (var (upstreamTopic, route) in _routes)
            {
                if (route.Shard == shard)
                {
                    topics.Add(upstreamTopic);
                }
            }

            return new TopicSnapshot(topics, _version);
        }
    }

    public ValueTask OnEventAsync(UpstreamEvent upstreamEvent)
    {
        TopicRoute? route;
        RelayConnection[] recipients = [];
        lock (_gate)
        {
            if (_routes.TryGetValue(upstreamEvent.UpstreamTopic, out route))
            {
                recipients = route.Snapshot();
            }
        }

        if (route is null)
        {
            // Unsubscribed while the event was in flight.
            return default;
        }

        var message = new SerializedHubMessage(new InvocationMessage(
            nameof(IRelayClient.Event),
            [new RelayEvent { Topic = route.Topic, Action = upstreamEvent.Action, Record = upstreamEvent.Record }]));
        var recordId = upstreamEvent.Record.TryGetProperty("id", out var id) ? id.GetString() : null;
        var key = recordId is null ? null : string.Concat(route.Topic, "\n", recordId);
        return _fanout.DispatchAsync(recipients, new OutboundMessage(message, key), upstreamEvent.ReceivedTimestamp, route.Collection);
    }

    /// <summary><paramref name="shard"/>'s stream was lost and re-established: its topics may have missed events.</summary>
    public ValueTask OnResubscribedAsync(UpstreamShard shard)
    {
        List<(RelayConnection Connection, string[] Topics)> affected = [];
        lock (_gate)
        {
            foreach (var (connection, subscriptions) in _connections)
            {
                string[] topics = [.. subscriptions
                    .Where(pair => _routes.TryGetValue(pair.Value, out var route) && route.Shard == shard)
                    .Select(static pair => pair.Key)];
                if (topics.Length > 0)
                {
                    affected.Add((connection, topics));
                }
            }
        }

        foreach (var (connection, topics) in affected)
        {
            connection.EnqueueControl(RelayConnection.CreateResync(topics, ResyncReasons.UpstreamReconnected));
        }

        return default;
    }

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics)
    {
        lock (_gate)
        {
            foreach (var upstreamTopic in upstreamTopics)
            {
                if (!_routes.Remove(upstreamTopic, out var route))
                {
                    continue;
                }

                route.Shard.TopicCount--;
                foreach (var connection in route.Snapshot())
                {
                    if (_connections.TryGetValue(connection, out var subscriptions)
                        && subscriptions.TryGetValue(route.Topic, out var held) && held == upstreamTopic)
                    {
                        subscriptions.Remove(route.Topic);
                    }
                }
            }

            // PocketBase already holds exactly the remaining set; no POST is needed for this change.
            _version++;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<UpstreamConnection> upstreams = [];
        lock (_gate)
        {
            _closed = true;
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

    private UpstreamConnection StartUpstream(UpstreamShard shard)
    {
        // Started on the first subscription, not on connect: a connection that never subscribes costs PocketBase nothing.
        var upstream = _upstreamFactory(shard);
        upstream.Start();
        return upstream;
    }

    /// <summary>
    /// The stream a new topic goes to: the least filled one with room; a new one only when every stream is full (so a
    /// small guest session keeps one stream) and the session may open more. Under the lock.
    /// </summary>
    private UpstreamShard? PickShard()
    {
        UpstreamShard? best = null;
        foreach (var shard in _shards)
        {
            if (shard.TopicCount < _topicsPerStream && (best is null || shard.TopicCount < best.TopicCount))
            {
                best = shard;
            }
        }

        if (best is null && _shards.Count < _maxStreams)
        {
            best = new UpstreamShard(this, _shards.Count);
            _shards.Add(best);
        }

        return best;
    }

    /// <returns>The shard whose topic set changed because the route emptied, or null.</returns>
    private UpstreamShard? RemoveFromRoute(RelayConnection connection, string upstreamTopic)
    {
        if (!_routes.TryGetValue(upstreamTopic, out var route))
        {
            return null;
        }

        route.Remove(connection);
        if (route.Count > 0)
        {
            return null;
        }

        _routes.Remove(upstreamTopic);
        route.Shard.TopicCount--;
        _version++;
        return route.Shard;
    }
}
