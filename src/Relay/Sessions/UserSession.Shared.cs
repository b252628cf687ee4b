using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// What shared streams (issue #22) need of a session: a member session's topics held on class sessions (so an
/// overflow's Resync names them too), a watch on the member's own auth record, and, for a class session, a change of
/// the member whose token holds its stream.
/// </summary>
internal sealed partial class UserSession
{
    private const int HeldCapacity = 10_000;
    private IConnectionOwner? _sharedTopics;
    private System.Threading.Channels.Channel<HeldEvent>? _held;

    /// <summary>Raised (outside the lock) when <see cref="UseToken"/> took a new token, so a class stream held with it follows.</summary>
    public event Action<UserSession>? TokenChanged;

    /// <summary>
    /// Where this member session's connections hold topics beyond its own routes (class sessions):
    /// <see cref="GetTopicsOf"/> answers with both, so an overflow's Resync covers every topic of the connection.
    /// </summary>
    public void UseSharedTopics(IConnectionOwner sharedTopics) => _sharedTopics = sharedTopics;

    /// <summary>
    /// Holds <paramref name="upstreamTopic"/> on this session's own stream with no connection needed, and hands its
    /// events to <paramref name="watcher"/> (null: the stream was re-established or PocketBase refused the topic, so an
    /// event may have been missed). Completes once PocketBase holds it. The route stays until the session closes.
    /// </summary>
    /// <exception cref="SubscriptionException">No room for one more topic, or PocketBase did not accept it.</exception>
    public async Task WatchAsync(string upstreamTopic, Action<UpstreamEvent?> watcher, TimeSpan timeout, CancellationToken cancellationToken)
    {
        IUpstream upstream;
        long waitVersion;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (!_routes.TryGetValue(upstreamTopic, out var route))
            {
                var shard = PickShard() ?? throw new SubscriptionException(RelayErrorCodes.TooManySubscriptions, "no room to watch the user's own record");
                route = new TopicRoute(upstreamTopic, ++_version, shard);
                shard.TopicCount++;
                _routes.Add(upstreamTopic, route);
                _log.Hold(upstreamTopic);
            }

            route.Watcher = watcher;
            upstream = route.Shard.Connection ??= StartUpstream(route.Shard);
            waitVersion = route.AddedVersion;
        }

        try
        {
            await upstream.WaitForSyncAsync(waitVersion, cancellationToken, upstreamTopic).WaitAsync(timeout, _timeProvider, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SubscriptionException(RelayErrorCodes.UpstreamUnavailable, "PocketBase did not accept the watch of the user's own record: " + ex.Message);
        }
    }

    /// <summary>
    /// For a class session: from now on its stream is held with <paramref name="token"/>, another member's. PocketBase
    /// refuses another user's token on an open stream, so a new stream is needed.
    /// With <paramref name="gapless"/> (the old holder is still a member of the class: it only left), the new stream is
    /// set up beside the old one and the old one read for an overlap, as in a rotation: nothing is lost and nobody gets
    /// a Resync. Otherwise, or when that fails, each stream is closed and opened again with the token; what PocketBase
    /// sent in between is lost, so the connections get a Resync for those topics once the new stream holds them, and
    /// events of the old stream are dropped from the moment this is called (its holder may no longer be a member).
    /// </summary>
    /// <returns>True when the holder changed without a gap.</returns>
    public async Task<bool> ChangeHolderAsync(string token, DateTimeOffset expiresAt, TimeSpan timeout, bool gapless = false)
    {
        if (gapless && await TryChangeHolderGaplessAsync(token, expiresAt, timeout))
        {
            return true;
        }

        List<IUpstream> old = [];
        List<UpstreamShard> moved = [];
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _expiresAt = expiresAt;
            Volatile.Write(ref _token, token);
            foreach (var shard in _shards)
            {
                shard.Suspended = true;
                if (shard.Connection is { } upstream)
                {
                    old.Add(upstream);
                    shard.Connection = null;
                    moved.Add(shard);
                }
            }
        }

        foreach (var upstream in old)
        {
            await upstream.DisposeAsync();
        }

        List<(IUpstream Upstream, long Version)> started = [];
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            foreach (var shard in _shards)
            {
                shard.Suspended = false;
            }

            foreach (var shard in moved)
            {
                if (shard.TopicCount > 0 && shard.Connection is null)
                {
                    shard.Connection = StartUpstream(shard);
                    started.Add((shard.Connection, _version));
                }
            }
        }

        foreach (var (upstream, version) in started)
        {
            try
            {
                await upstream.WaitForSyncAsync(version, CancellationToken.None).WaitAsync(timeout, _timeProvider);
            }
            catch (Exception ex) when (ex is TimeoutException or TopicRefusedException or InvalidOperationException or ObjectDisposedException)
            {
                // The Resync below still goes out: the clients refetch, and the stream keeps retrying on its own.
            }
        }

        foreach (var shard in moved)
        {
            await OnResubscribedAsync(shard);
        }

        return false;
    }

    /// <summary>
    /// The gapless holder change, for a session on one stream (a class session holds a collection's few shared topics;
    /// with several streams their POSTs would need each its own holder's token until all moved).
    /// </summary>
    private async Task<bool> TryChangeHolderGaplessAsync(string token, DateTimeOffset expiresAt, TimeSpan timeout)
    {
        IUpstream upstream;
        lock (_gate)
        {
            if (_closed || _shards.Count(static shard => shard.Connection is not null) != 1
                || _shards.Any(static shard => shard.Suspended || (shard.Connection is null && shard.TopicCount > 0)))
            {
                return false;
            }

            upstream = _shards.First(static shard => shard.Connection is not null).Connection!;
        }

        using var giveUp = new CancellationTokenSource(timeout, _timeProvider);
        return await upstream.ChangeHolderAsync(
            token,
            () =>
            {
                lock (_gate)
                {
                    _expiresAt = expiresAt;
                    Volatile.Write(ref _token, token);
                }
            },
            giveUp.Token);
    }

    /// <summary>
    /// For a class session: sees every event routed on it (shadow verification compares them), and null when the
    /// stream was re-established or changed holder (what was in flight is not comparable).
    /// </summary>
    public Action<UpstreamEvent?>? Tap { get; set; }

    /// <summary>
    /// For a class session: the recipients an event may still go to at send time (without a member whose token Relay has
    /// just learned is dead, or whose record is being verified again); the same array when nobody is held back, so the
    /// common case costs neither a lookup per recipient nor a copy. Called without this session's lock; must not block.
    /// </summary>
    public Func<RelayConnection[], RelayConnection[]>? Admits { get; set; }

    /// <summary>
    /// For a class session: each event is sent <paramref name="hold"/> after it was read, in order, to the recipients
    /// <see cref="Admits"/> still lets through then. PocketBase sends what it writes inside a user's deletion before the
    /// deletion, on other streams: the hold lets Relay learn of the death before those reach the dead member. Call once,
    /// before the first event. A full queue (a stalled fan-out) slows the stream's reading, as without a hold.
    /// </summary>
    public void HoldEvents(TimeSpan hold)
    {
        if (hold <= TimeSpan.Zero)
        {
            return;
        }

        var held = System.Threading.Channels.Channel.CreateBounded<HeldEvent>(new System.Threading.Channels.BoundedChannelOptions(HeldCapacity)
        {
            SingleReader = true,
            FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
        });
        _held = held;
        _ = SendHeldAsync(held.Reader, hold);
    }

    private async Task SendHeldAsync(System.Threading.Channels.ChannelReader<HeldEvent> reader, TimeSpan hold)
    {
        await foreach (var held in reader.ReadAllAsync())
        {
            try
            {
                // Every event waits the same time from its reading, so one reader in order keeps the stream's order.
                var left = hold - _timeProvider.GetElapsedTime(held.ReceivedTimestamp);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left, _timeProvider);
                }

                var recipients = Admits is { } admits ? admits(held.Recipients) : held.Recipients;
                await _fanout.DispatchAsync(recipients, held.Message, held.ReceivedTimestamp, held.Collection, held.RelayEvent);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One event's failed send must not stop the ones after it (the fan-out handles slow connections itself).
            }
        }
    }

    /// <summary>Ends a watch of <see cref="WatchAsync"/>: the route goes when no connection holds it.</summary>
    public void Unwatch(string upstreamTopic)
    {
        IUpstream? upstream = null;
        lock (_gate)
        {
            if (_closed || !_routes.TryGetValue(upstreamTopic, out var route) || route.Watcher is null)
            {
                return;
            }

            route.Watcher = null;
            if (route.Count == 0)
            {
                DropRoute(upstreamTopic, route);
                upstream = route.Shard.Connection;
            }
        }

        upstream?.RequestSync();
    }

    /// <summary>Whether <see cref="Suspend"/> was called and no reopen has lifted it yet.</summary>
    public bool IsSuspended
    {
        get
        {
            lock (_gate)
            {
                return _shards.Any(static shard => shard.Suspended);
            }
        }
    }

    /// <summary>
    /// For a class session whose holder is leaving the class: its events are dropped from now on, until
    /// <see cref="ChangeHolderAsync"/> reopens it with another member's token (or it closes).
    /// </summary>
    public void Suspend()
    {
        lock (_gate)
        {
            foreach (var shard in _shards)
            {
                shard.Suspended = true;
            }
        }
    }

    /// <summary>Whether <paramref name="connection"/> is attached to this session.</summary>
    public bool HasConnection(RelayConnection connection)
    {
        lock (_gate)
        {
            return _connections.ContainsKey(connection);
        }
    }

    /// <summary>Topics <paramref name="connection"/> holds on this session (the count toward its per-connection limit).</summary>
    public int SubscriptionCountOf(RelayConnection connection)
    {
        lock (_gate)
        {
            return _connections.TryGetValue(connection, out var subscriptions) ? subscriptions.Count : 0;
        }
    }

    private void RaiseTokenChanged() => TokenChanged?.Invoke(this);
}
