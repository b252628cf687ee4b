using Relay.Fanout;

namespace Relay.Sessions;

/// <summary>
/// One upstream topic of a session and the connections that asked for it. Joining and leaving are O(1) (a list with
/// swap-remove and an index), so 100,000 guests reconnecting to one topic after a deploy cost O(n), not O(n²); fan-out
/// reads an array snapshot that is rebuilt only when the members changed since the last event. Not thread-safe: the
/// owning <see cref="UserSession"/> calls it under its lock.
/// </summary>
internal sealed class TopicRoute(string topic, long addedVersion, UpstreamShard shard)
{
    private readonly List<RelayConnection> _members = [];
    private readonly Dictionary<RelayConnection, int> _index = [];
    private RelayConnection[]? _snapshot = [];

    /// <summary>The bare topic the connections subscribed to; events carry it back to them.</summary>
    public string Topic { get; } = topic;

    /// <summary>The topic's collection, for metrics.</summary>
    public string Collection { get; } = topic[..topic.IndexOf('/', StringComparison.Ordinal)];

    /// <summary>The session's topic version that first included this route; a subscriber waits until PocketBase holds it.</summary>
    public long AddedVersion { get; } = addedVersion;

    /// <summary>The stream that holds this topic upstream.</summary>
    public UpstreamShard Shard { get; } = shard;

    public int Count => _members.Count;

    /// <summary>
    /// A watch held by the session itself (shared streams' watch of the user's own auth record): gets every event of
    /// the route, and null when one may have been missed. The route stays while it has a watcher.
    /// </summary>
    public Action<Upstream.UpstreamEvent?>? Watcher { get; set; }

    /// <summary>When the route last lost its last member (a timestamp), or null while it has members.</summary>
    public long? EmptiedAt { get; set; }

    /// <summary>Adds <paramref name="connection"/>; false when it is already a member.</summary>
    public bool Add(RelayConnection connection)
    {
        if (!_index.TryAdd(connection, _members.Count))
        {
            return false;
        }

        _members.Add(connection);
        _snapshot = null;
        EmptiedAt = null;
        return true;
    }

    /// <summary>Removes <paramref name="connection"/>; false when it was not a member.</summary>
    public bool Remove(RelayConnection connection)
    {
        if (!_index.Remove(connection, out var position))
        {
            return false;
        }

        var last = _members.Count - 1;
        if (position != last)
        {
            var moved = _members[last];
            _members[position] = moved;
            _index[moved] = position;
        }

        _members.RemoveAt(last);
        _snapshot = null;
        return true;
    }

    /// <summary>
    /// The members as an array that is never mutated afterwards: the stream reader fans out to it without any lock while
    /// connections keep joining and leaving.
    /// </summary>
    public RelayConnection[] Snapshot() => _snapshot ??= [.. _members];
}
