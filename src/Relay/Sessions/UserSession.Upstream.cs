using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.Upstream;

namespace Relay.Sessions;

internal sealed partial class UserSession
{
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

    /// <summary>An event read from <paramref name="shard"/>'s stream.</summary>
    public ValueTask OnEventAsync(UpstreamShard shard, UpstreamEvent upstreamEvent)
    {
        TopicRoute? route;
        RelayConnection[] recipients;
        RelayEvent relayEvent;
        lock (_gate)
        {
            _log.Observe(upstreamEvent);

            // Only from the stream the topic is routed to: a guest topic removed from one stream (its POST still
            // pending there) and added again on another would otherwise get every event twice.
            if (shard.Suspended || !_routes.TryGetValue(upstreamEvent.UpstreamTopic, out route) || route.Shard != shard)
            {
                // Unsubscribed (or moved to another stream) while the event was in flight.
                return default;
            }

            // Appended and routed in one step under the lock, so a connection joining the route (and reading the log
            // for its replay) either finds this event in the log or among its live events, never both or neither.
            relayEvent = new RelayEvent { Topic = route.Topic, Action = upstreamEvent.Action, Record = upstreamEvent.Record, Offset = upstreamEvent.LogOffset };
            _log.Append(upstreamEvent.UpstreamTopic, relayEvent);
            recipients = route.Snapshot();
        }

        route.Watcher?.Invoke(upstreamEvent);
        Tap?.Invoke(upstreamEvent);
        if (_held is { } held)
        {
            return held.Writer.WriteAsync(new HeldEvent(recipients, ToOutbound(relayEvent), upstreamEvent.ReceivedTimestamp, route.Collection, relayEvent));
        }

        if (Admits is { } admits)
        {
            // Read at send time, after the event was read: a member found dead before this point gets nothing of it.
            recipients = admits(recipients);
        }

        return _fanout.DispatchAsync(recipients, ToOutbound(relayEvent), upstreamEvent.ReceivedTimestamp, route.Collection, relayEvent);
    }

    private static OutboundMessage ToOutbound(RelayEvent relayEvent)
    {
        var message = new SerializedHubMessage(new InvocationMessage(nameof(IRelayClient.Event), [relayEvent]));
        var recordId = relayEvent.Record.TryGetProperty("id", out var id) ? id.GetString() : null;
        var key = recordId is null ? null : string.Concat(relayEvent.Topic, "\n", recordId);
        return new OutboundMessage(message, key);
    }

    /// <summary><paramref name="shard"/>'s stream was lost and re-established: its topics may have missed events.</summary>
    public ValueTask OnResubscribedAsync(UpstreamShard shard)
    {
        List<(RelayConnection Connection, string[] Topics)> affected = [];
        List<Action<UpstreamEvent?>> watchers = [];
        lock (_gate)
        {
            foreach (var route in _routes.Values)
            {
                if (route.Shard == shard && route.Watcher is { } watcher)
                {
                    watchers.Add(watcher);
                }
            }

            // PocketBase has no replay: what it sent while the stream was down is lost, so no history spans this point.
            _log.MarkGap();
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

        foreach (var watcher in watchers)
        {
            watcher(null);
        }

        Tap?.Invoke(null);
        foreach (var (connection, topics) in affected)
        {
            connection.EnqueueControl(RelayConnection.CreateResync(topics, ResyncReasons.UpstreamReconnected));
        }

        return default;
    }

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics)
    {
        List<Action<UpstreamEvent?>> watchers = [];
        lock (_gate)
        {
            foreach (var upstreamTopic in upstreamTopics)
            {
                if (!_routes.Remove(upstreamTopic, out var route))
                {
                    continue;
                }

                route.Shard.TopicCount--;
                _log.Release(upstreamTopic);
                if (route.Watcher is { } watcher)
                {
                    watchers.Add(watcher);
                }

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

        foreach (var watcher in watchers)
        {
            watcher(null);
        }
    }

    private IUpstream StartUpstream(UpstreamShard shard)
    {
        // Started on the first subscription, not on connect: a connection that never subscribes costs PocketBase nothing.
        var upstream = _upstreamFactory(shard);
        upstream.Start();
        return upstream;
    }
}
