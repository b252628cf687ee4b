using Relay.Fanout;
using Relay.Upstream;

namespace Relay.Sessions;

internal sealed partial class UserSession
{
    /// <summary>
    /// Queues for <paramref name="connection"/> the logged events for <paramref name="upstreamTopic"/> after
    /// <paramref name="since"/>; false, queuing nothing, when the log does not cover them. Under the lock.
    /// </summary>
    private bool Replay(RelayConnection connection, string since, string upstreamTopic)
    {
        var route = _routes[upstreamTopic];
        if (!_log.TryReadSince(since, upstreamTopic, route.Shard.Name, out var missed))
        {
            return false;
        }

        var topic = route.Topic;
        foreach (var relayEvent in missed)
        {
            // A shared log (cluster mode) knows upstream topics only: the client's topic is this route's.
            if (relayEvent.Topic.Length == 0)
            {
                relayEvent.Topic = topic;
            }

            connection.Enqueue(ToOutbound(relayEvent));
        }

        return true;
    }

    /// <summary>Keeps an emptied route held upstream for a while, so its log stays complete for a client that comes back. Under the lock.</summary>
    private void StartLingering(TopicRoute route)
    {
        route.EmptiedAt = _timeProvider.GetTimestamp();
        if (_lingerSweep is null && !_closed)
        {
            // A quarter of the linger between sweeps: a route is released at most a quarter late.
            var period = _routeLinger / 4;
            _lingerSweep = _timeProvider.CreateTimer(static state => ((UserSession)state!).SweepLingeringRoutes(), this, period, period);
        }
    }

    /// <summary>Releases the routes that have been empty for the linger time; stops sweeping when none is left.</summary>
    internal void SweepLingeringRoutes()
    {
        HashSet<IUpstream> changed = [];
        lock (_gate)
        {
            var lingering = 0;
            foreach (var (upstreamTopic, route) in _routes.ToArray())
            {
                if (route.EmptiedAt is not { } emptiedAt)
                {
                    continue;
                }

                if (_timeProvider.GetElapsedTime(emptiedAt) < _routeLinger)
                {
                    lingering++;
                    continue;
                }

                DropRoute(upstreamTopic, route);
                if (route.Shard.Connection is { } upstream)
                {
                    changed.Add(upstream);
                }
            }

            if (lingering == 0)
            {
                _lingerSweep?.Dispose();
                _lingerSweep = null;
            }
        }

        foreach (var upstream in changed)
        {
            upstream.RequestSync();
        }
    }

    /// <summary>
    /// When every stream is full, the lingering routes (nobody's live subscription) give way to a live one: they are
    /// dropped and a shard is picked again. Under the lock.
    /// </summary>
    private UpstreamShard? PickShardAfterEvicting(out List<IUpstream>? evictedFrom)
    {
        evictedFrom = null;
        var evicted = false;
        foreach (var (upstreamTopic, route) in _routes.ToArray())
        {
            if (route.EmptiedAt is not null)
            {
                DropRoute(upstreamTopic, route);
                evicted = true;
                if (route.Shard.Connection is { } upstream)
                {
                    (evictedFrom ??= []).Add(upstream);
                }
            }
        }

        return evicted ? PickShard() : null;
    }

    /// <summary>Routes held with no member, waiting for their connections to come back (for tests and diagnostics).</summary>
    public int LingeringTopicCount
    {
        get
        {
            lock (_gate)
            {
                return _routes.Values.Count(static route => route.EmptiedAt is not null);
            }
        }
    }
}
