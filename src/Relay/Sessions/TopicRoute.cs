using Relay.Fanout;

namespace Relay.Sessions;

/// <summary>One upstream topic of a session and the connections that asked for it.</summary>
internal sealed class TopicRoute(string topic, long addedVersion)
{
    /// <summary>The bare topic the connections subscribed to; events carry it back to them.</summary>
    public string Topic { get; } = topic;

    /// <summary>The topic's collection, for metrics.</summary>
    public string Collection { get; } = topic[..topic.IndexOf('/', StringComparison.Ordinal)];

    /// <summary>The session's topic version that first included this route; a subscriber waits until PocketBase holds it.</summary>
    public long AddedVersion { get; } = addedVersion;

    /// <summary>
    /// Replaced, never mutated, under the session's lock: the stream reader takes the current array and fans out to it
    /// without holding any lock.
    /// </summary>
    public RelayConnection[] Connections { get; set; } = [];
}
