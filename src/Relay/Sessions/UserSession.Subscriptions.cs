using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Sessions;

internal sealed partial class UserSession
{
    /// <summary>
    /// Adds (or, with other options, replaces) <paramref name="connection"/>'s subscription and completes once PocketBase
    /// holds the topic, so every change committed after this returns reaches the connection.
    /// </summary>
    /// <exception cref="SubscriptionException">
    /// The connection or session holds too many topics (<c>too_many_subscriptions</c>), PocketBase refused the topic
    /// (<c>subscription_refused</c>), or did not accept it in time (<c>upstream_unavailable</c>).
    /// </exception>
    /// <remarks>
    /// With <c>since</c> (the last offset the client saw for the topic) and a log that covers what came after it, the
    /// missed events are queued for the connection before any live one and the outcome says recovered.
    /// </remarks>
    public Task SubscribeAsync(RelayConnection connection, TopicSubscription request, int maxPerConnection, TimeSpan timeout, CancellationToken cancellationToken)
        => SubscribeAsync(connection, request, since: null, maxPerConnection, timeout, cancellationToken);

    /// <inheritdoc cref="SubscribeAsync(RelayConnection, TopicSubscription, int, TimeSpan, CancellationToken)"/>
    public async Task<SubscribeOutcome> SubscribeAsync(RelayConnection connection, TopicSubscription request, string? since, int maxPerConnection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await CheckFilterAsync(request, cancellationToken);
        await PrepareRecoveryAsync(since, cancellationToken);
        return await SubscribeCheckedAsync(connection, request, since, maxPerConnection, timeout, cancellationToken);
    }

    /// <summary>
    /// Before a subscription with <paramref name="since"/> is applied: reads ahead, without the session's lock, what its
    /// replay needs (in cluster mode the Redis Stream), so the replay under the lock waits for no I/O — a burst of
    /// reconnects (a deploy) then never holds the thread pool behind the lock.
    /// </summary>
    public ValueTask PrepareRecoveryAsync(string? since, CancellationToken cancellationToken)
        => since is null ? ValueTask.CompletedTask : _log.PrepareReadAsync(since, cancellationToken);

    /// <summary>
    /// <see cref="SubscribeAsync(RelayConnection, TopicSubscription, string?, int, TimeSpan, CancellationToken)"/> once <see cref="CheckFilterAsync"/> passed. The subscription is applied (limits,
    /// routing) before this method first awaits, so calls made one after another are applied in that order.
    /// </summary>
    public async Task<SubscribeOutcome> SubscribeCheckedAsync(RelayConnection connection, TopicSubscription request, string? since, int maxPerConnection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long waitVersion;
        IUpstream? replacedOn = null;
        IUpstream upstream;
        SubscribeOutcome outcome;
        List<IUpstream>? evictedFrom = null;
        lock (_gate)
        {
            if (_closed || !_connections.TryGetValue(connection, out var subscriptions))
            {
                // The connection is closing; nothing will be delivered to it any more.
                return default;
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
                // With since, the stream whose history it names: the replay and the live events then come from one history.
                var shard = (since is null ? null : PickShard(_log.StreamIndexOf(since))) ?? PickShard() ?? PickShardAfterEvicting(out evictedFrom) ?? throw new SubscriptionException(
                    RelayErrorCodes.TooManySubscriptions,
                    Key.IsGuest
                        ? $"the guests' connections already hold {_routes.Count} distinct topics (Relay:Sessions:GuestTopicsPerStream x MaxGuestStreams)"
                        : $"this user's connections already hold {_routes.Count} distinct topics (Relay:Sessions:MaxTopicsPerSession)");
                route = new TopicRoute(request.Topic, ++_version, shard);
                shard.TopicCount++;
                _routes.Add(request.UpstreamTopic, route);
                _log.Hold(request.UpstreamTopic);
            }

            // Started before the replay: in cluster mode the stream's reading position bounds the replay (see ClusterSessionEventLog).
            upstream = route.Shard.Connection ??= StartUpstream(route.Shard);
            if (current != request.UpstreamTopic)
            {
                if (hasCurrent)
                {
                    // The old options' topic may live on another stream, which must drop it too.
                    replacedOn = RemoveFromRoute(connection, current!)?.Connection;
                }

                // The topic is the connection's before its replay is queued: a replay that overflows the queue
                // replaces the backlog with a Resync of the connection's topics, which must include this one.
                subscriptions[request.Topic] = request.UpstreamTopic;

                // Replay and join in one step under the lock: every event appended before is in the replay, every
                // later one reaches the connection live, after it (see OnEventAsync).
                outcome = new SubscribeOutcome(since is not null && Replay(connection, since, request.UpstreamTopic), _log.HeadOf(route.Shard.Name));
                route.Add(connection);
            }
            else
            {
                // Already receiving this topic live on this connection: nothing to replay.
                outcome = new SubscribeOutcome(since is not null && _log.TryReadSince(since, request.UpstreamTopic, route.Shard.Name, out _), _log.HeadOf(route.Shard.Name));
            }

            waitVersion = route.AddedVersion;
        }

        // Always, even on the same stream: when the new options join a route PocketBase already holds, the wait below
        // posts nothing, and only this POST drops the old options' topic.
        replacedOn?.RequestSync();

        foreach (var evicted in evictedFrom ?? [])
        {
            if (evicted != upstream)
            {
                evicted.RequestSync();
            }
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

        return outcome;
    }

    /// <summary>
    /// A filter PocketBase cannot evaluate is accepted by its subscription POST and then silently matches nothing, so a
    /// new topic with a filter is first checked with PocketBase (once per session and topic: a held topic was checked).
    /// A refusal leaves the session untouched.
    /// </summary>
    /// <exception cref="SubscriptionException">PocketBase refused the filter (<c>subscription_refused</c>).</exception>
    public async Task CheckFilterAsync(TopicSubscription request, CancellationToken cancellationToken)
    {
        if (request.Filter is not { } filter)
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
        IUpstream? upstream;
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

    /// <summary>Whether some connection of this session already holds <paramref name="upstreamTopic"/> (so adding it costs PocketBase nothing).</summary>
    public bool HoldsTopic(string upstreamTopic)
    {
        lock (_gate)
        {
            return _routes.ContainsKey(upstreamTopic);
        }
    }

    public IReadOnlyList<string> GetTopicsOf(RelayConnection connection)
    {
        IReadOnlyList<string> own;
        lock (_gate)
        {
            own = _connections.TryGetValue(connection, out var subscriptions) ? [.. subscriptions.Keys] : [];
        }

        // A member's topics held on class sessions count too (an overflow's Resync must name them).
        return _sharedTopics is { } shared && shared.GetTopicsOf(connection) is { Count: > 0 } more ? [.. own, .. more] : own;
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

    /// <summary>The stream <paramref name="index"/> (opened, with those before it, if need be) when it has room; else null. Under the lock.</summary>
    private UpstreamShard? PickShard(int? index)
    {
        if (index is not { } wanted || wanted < 0 || wanted >= _maxStreams)
        {
            return null;
        }

        while (_shards.Count <= wanted)
        {
            _shards.Add(new UpstreamShard(this, _shards.Count));
        }

        return _shards[wanted].TopicCount < _topicsPerStream ? _shards[wanted] : null;
    }

    /// <remarks>With linger set (the connection dropped, it did not unsubscribe) an emptied route stays held for the history's age.</remarks>
    /// <returns>The shard whose topic set changed because the route emptied, or null.</returns>
    private UpstreamShard? RemoveFromRoute(RelayConnection connection, string upstreamTopic, bool linger = false)
    {
        if (!_routes.TryGetValue(upstreamTopic, out var route))
        {
            return null;
        }

        route.Remove(connection);
        if (route.Count > 0 || route.Watcher is not null)
        {
            return null;
        }

        if (linger && _routeLinger > TimeSpan.Zero)
        {
            StartLingering(route);
            return null;
        }

        DropRoute(upstreamTopic, route);
        return route.Shard;
    }

    /// <summary>Removes an empty route; under the lock.</summary>
    private void DropRoute(string upstreamTopic, TopicRoute route)
    {
        _routes.Remove(upstreamTopic);
        _log.Release(upstreamTopic);
        route.Shard.TopicCount--;
        _version++;
    }
}
