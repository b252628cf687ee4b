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

    private IUpstream StartUpstream(UpstreamShard shard)
    {
        // Started on the first subscription, not on connect: a connection that never subscribes costs PocketBase nothing.
        var upstream = _upstreamFactory(shard);
        upstream.Start();
        return upstream;
    }
}
