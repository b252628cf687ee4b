using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// The last entries a stream follower read from its session's Redis Stream, in order and bounded: a replay under the
/// session's lock takes from here what came after its read-ahead, instead of reading Redis under the lock. Holds every
/// entry after <c>_from</c> up to the last one added. The follower's loop adds; session threads read.
/// </summary>
internal sealed class RecentEntries(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Queue<(StreamEntryId Id, StreamEntry Entry)> _entries = new();
    private StreamEntryId _from;
    private bool _started;

    /// <summary>Reading (re)starts after <paramref name="position"/>: nothing before it is held.</summary>
    public void Reset(StreamEntryId position)
    {
        lock (_gate)
        {
            _entries.Clear();
            _from = position;
            _started = true;
        }
    }

    public void Add(StreamEntry entry)
    {
        lock (_gate)
        {
            _entries.Enqueue((StreamEntryId.Parse(entry.Id), entry));
            if (_entries.Count > capacity)
            {
                _from = _entries.Dequeue().Id;
            }
        }
    }

    /// <summary>
    /// The entries from <paramref name="first"/> (itself included only when <paramref name="inclusive"/>) through
    /// <paramref name="last"/>, when every entry of that range that was read is still held; false otherwise.
    /// </summary>
    public bool TryRead(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries)
    {
        lock (_gate)
        {
            var covered = _started && (inclusive ? _from.CompareTo(first) < 0 : _from.CompareTo(first) <= 0);
            entries = covered
                ? [.. _entries.Where(pair => pair.Id.CompareTo(first) >= (inclusive ? 0 : 1) && pair.Id.CompareTo(last) <= 0).Select(static pair => pair.Entry)]
                : [];
            return covered;
        }
    }
}
