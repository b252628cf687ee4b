using Relay.Cluster;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>A stream follower as <c>ClusterUpstream</c> is one to a session's log: a read position, a head, the entries read lately.</summary>
internal sealed class FakeStreamFollower(int recentCapacity = 256) : IStreamFollower, IStreamFollowers
{
    private readonly RecentEntries _recent = new(recentCapacity);
    private string? _epoch;
    private string? _head;

    public bool FollowsStream { get; set; } = true;

    public bool Registered { get; set; } = true;

    public (string Epoch, string EntryId)? LogHead => FollowsStream && _epoch is { } epoch && _head is { } head ? (epoch, head) : null;

    public void StartAt(string epoch, RedisValue position)
    {
        if (_epoch is null)
        {
            Start(epoch, position.ToString());
        }
    }

    public void Start(string epoch, string position)
    {
        _epoch = epoch;
        _head = position;
        _recent.Reset(StreamEntryId.Parse(position));
    }

    /// <summary>The loop read <paramref name="entry"/> and handed it to the session.</summary>
    public void Read(StreamEntry entry)
    {
        _recent.Add(entry);
        _head = entry.Id.ToString();
    }

    public bool TryReadRecent(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries)
        => _recent.TryRead(first, last, inclusive, out entries);

    public IStreamFollower? FindFollower(string streamName) => Registered ? this : null;
}
