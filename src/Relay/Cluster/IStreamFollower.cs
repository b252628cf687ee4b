using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>What a session's event log needs of the stream that follows the session's Redis Stream on this instance.</summary>
internal interface IStreamFollower
{
    /// <summary>Following the Redis Stream (not running alone or returning).</summary>
    bool FollowsStream { get; }

    /// <summary>The Stream's epoch and the id of the last entry handed to the session; null until reading has started.</summary>
    (string Epoch, string EntryId)? LogHead { get; }

    /// <summary>Starts reading after <paramref name="position"/> of <paramref name="epoch"/> unless reading has started (no I/O).</summary>
    void StartAt(string epoch, RedisValue position);

    /// <summary>Entries read lately, from memory (see <see cref="RecentEntries.TryRead"/>): never a Redis call.</summary>
    bool TryReadRecent(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries);
}
