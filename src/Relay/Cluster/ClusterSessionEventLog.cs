using Relay.Client.Protocol;
using Relay.Sessions;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// A session's event log in cluster mode: the session's Redis Stream itself, so a client that reconnects to any instance
/// is replayed what it missed. Offsets are <c>EPOCH-MS-SEQ</c>: the Stream's epoch (drawn when its keys are created, so
/// offsets from an earlier incarnation never match) and the Stream entry id. A read from an offset is covered only when
/// that entry is still in the Stream (not trimmed by <c>MAXLEN</c>/<c>MINID</c>, same incarnation), it is younger than
/// <see cref="HistoryOptions.MaxAge"/>, at most <see cref="HistoryOptions.MaxEvents"/> entries follow it, and no gap entry
/// (<see cref="EntryKinds.Resync"/>: a takeover after a crash, events dropped while Redis was away) nor a gap seen here
/// lies between.
/// <para>
/// Ordering: the replay covers the Stream up to the last entry this instance has handed to the session, under the
/// session's lock. What it replays was read ahead before the lock (<see cref="PrepareReadAsync"/>); entries that came
/// in between are taken from those the stream read lately (<see cref="RecentEntries"/>), never from Redis under the
/// lock: when memory does not cover them, the offset is not recovered (the client resyncs). An event entry takes that
/// same lock to be routed (<see cref="Observe"/>), so it is either in the replay or delivered live after it, never both
/// or neither. Lock order: the session's lock, then <c>_readAheadGate</c>.
/// Events read while running alone (Redis unreachable) have no Stream offset and go to an in-memory log as when alone.
/// </para>
/// <para>
/// The guest session spreads its topics over several streams (<c>name</c>, <c>name#1</c>, ...), each its own Redis
/// Stream with its own epoch: an offset names its Stream by its epoch. Before the lock the Stream is found (from the
/// streams followed here, else from the epochs in Redis) and read ahead; the session then routes the topic to that
/// stream when it has room (<see cref="StreamIndexOf"/>), and a replay reads only the Stream of the stream the topic is
/// routed to, so replay and live events come from one history (another stream's offset is not recovered).
/// </para>
/// </summary>
internal sealed partial class ClusterSessionEventLog : ISessionEventLog
{
    // A read-ahead serves the replays of the next few seconds (the burst it was made for). Bounded by offsets and by
    // entries held, reads in flight included (each reserves MaxEvents + 2 entries until it is done; a client can name
    // any offset it likes).
    private const int MaxReadAheads = 256;
    private const int MaxReadAheadEntries = 10_000;
    private static readonly TimeSpan ReadAheadLifetime = TimeSpan.FromSeconds(5);

    private readonly string _name;
    private readonly ClusterKeys _keys;
    private readonly IClusterStore _store;
    private readonly IStreamFollowers _followers;
    private readonly MemorySessionEventLog _local;
    private readonly int _streams;
    private readonly int _maxEvents;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, StreamEntryId> _observed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StreamEntryId> _gapAt = new(StringComparer.Ordinal);
    private readonly Lock _readAheadGate = new();
    private readonly Dictionary<string, Task<ReadAhead?>> _readAhead = new(StringComparer.Ordinal);
    private int _readAheadEntries;

    public ClusterSessionEventLog(SessionKey key, IClusterStore store, IStreamFollowers followers, HistoryOptions options, TimeProvider timeProvider, int streams = 1)
    {
        _streams = Math.Max(1, streams);
        _name = key.ToString();
        _keys = new ClusterKeys(_name);
        _store = store;
        _followers = followers;
        _local = new MemorySessionEventLog(options, timeProvider);
        _maxEvents = options.MaxEvents;
        _maxAge = options.MaxAge;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Never waits for Redis (it is read for every subscription, under the session's lock): while this instance follows
    /// the Stream but has not yet read where it ends, there is no offset to give (null).
    /// </summary>
    public string? Head => HeadOf(_name);

    /// <inheritdoc cref="Head"/>
    public string? HeadOf(string streamName)
        => _followers.FindFollower(streamName) is { FollowsStream: true } follower
            ? TryGetHead(follower.LogHead, out var epoch, out var head) ? Format(epoch, head) : null
            : _local.Head;

    public void Hold(string upstreamTopic) => _local.Hold(upstreamTopic);

    public void Release(string upstreamTopic) => _local.Release(upstreamTopic);

    public void Observe(UpstreamEvent upstreamEvent)
    {
        if (upstreamEvent.LogOffset is { } offset && TryParse(offset, out var epoch, out var id)
            && (!_observed.TryGetValue(epoch, out var seen) || id.CompareTo(seen) > 0))
        {
            _observed[epoch] = id;
        }
    }

    public string Append(string upstreamTopic, RelayEvent relayEvent)
        => relayEvent.Offset is { } offset && TryParse(offset, out _, out _) ? offset : _local.Append(upstreamTopic, relayEvent);

    public bool TryReadSince(string offset, string upstreamTopic, out IReadOnlyList<RelayEvent> events)
        => TryReadSince(offset, upstreamTopic, _name, out events);

    public bool TryReadSince(string offset, string upstreamTopic, string streamName, out IReadOnlyList<RelayEvent> events)
    {
        events = [];
        if (!TryParse(offset, out var epoch, out var since))
        {
            return _local.TryReadSince(offset, upstreamTopic, out events);
        }

        ReadAhead? ahead;
        lock (_readAheadGate)
        {
            ahead = _readAhead.TryGetValue(offset, out var reading) && IsUsable(reading) && reading.Result!.Epoch == epoch ? reading.Result : null;
        }

        // Only the Stream of the stream the topic is routed to: its live events come from there.
        if (ahead is not null && StreamName(ahead.Stream) != streamName)
        {
            return false;
        }

        var follower = _followers.FindFollower(streamName);
        if (ahead is not null)
        {
            // The offset's own entry trimmed away, or more after it than the history keeps: not recoverable.
            if (ahead.Entries.Length == 0 || (string?)ahead.Entries[0].Id != since.ToString() || ahead.Entries.Length > _maxEvents + 1)
            {
                return false;
            }

            // A stream that has not started reading starts after what was read ahead: the rest comes live.
            if (follower is { FollowsStream: true, LogHead: null })
            {
                follower.StartAt(ahead.Epoch, ahead.Entries[^1].Id);
            }
        }

        if (_maxEvents == 0 || follower is not { FollowsStream: true } || !TryGetHead(follower.LogHead, out var headEpoch, out var head)
            || headEpoch != epoch || since.CompareTo(head) > 0
            || (_gapAt.TryGetValue(epoch, out var gap) && since.CompareTo(gap) < 0)
            || since.Milliseconds < (_timeProvider.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds())
        {
            return false;
        }

        // Never a Redis call here (under the session's lock): the read-ahead, then what the stream read after it.
        StreamEntry[] entries;
        var aheadEnd = ahead is null ? default : StreamEntryId.Parse(ahead.Entries[^1].Id.ToString());
        if (ahead is not null && aheadEnd.CompareTo(head) >= 0)
        {
            // Read ahead up to or past the head: its part up to the head (the rest comes live).
            entries = [.. ahead.Entries.Where(entry => StreamEntryId.Parse(entry.Id.ToString()).CompareTo(head) <= 0)];
        }
        else if (ahead is not null && follower.TryReadRecent(aheadEnd, head, inclusive: false, out var after))
        {
            entries = [.. ahead.Entries, .. after];
        }
        else if (!follower.TryReadRecent(since, head, inclusive: true, out entries))
        {
            return false;
        }

        // The offset's own entry must still be there (not trimmed, same Stream), and nothing beyond the history's count.
        if (entries.Length == 0 || (string?)entries[0].Id != since.ToString() || entries.Length > _maxEvents + 1)
        {
            return false;
        }

        List<RelayEvent> missed = [];
        for (var i = 1; i < entries.Length; i++)
        {
            var entry = ClusterEntry.Decode(entries[i]);
            if (entry.Kind == EntryKinds.Resync)
            {
                return false;
            }

            if (entry.Kind == EntryKinds.Event && entry.Topic == upstreamTopic)
            {
                missed.Add(new RelayEvent
                {
                    // The session sets the client's topic (the route's) when it replays.
                    Topic = string.Empty,
                    Action = entry.Action!,
                    Record = entry.RecordElement(),
                    Offset = Format(epoch, StreamEntryId.Parse(entries[i].Id.ToString())),
                });
            }
        }

        events = missed;
        return true;
    }

    public void MarkGap()
    {
        _local.MarkGap();

        // The session does not say which stream lost PocketBase: no replay spans this point on any of them.
        for (var i = 0; i < _streams; i++)
        {
            if (TryGetHead(_followers.FindFollower(StreamName(i))?.LogHead, out var epoch, out var head))
            {
                _gapAt[epoch] = head;
            }
        }
    }

    /// <summary>The Stream's epoch and the last entry this instance handed to the session (or observed, if later).</summary>
    private bool TryGetHead((string Epoch, string EntryId)? found, out string epoch, out StreamEntryId head)
    {
        epoch = string.Empty;
        head = default;
        if (found is not { } logHead || !StreamEntryId.TryParse(logHead.EntryId, out head))
        {
            return false;
        }

        epoch = logHead.Epoch;
        if (_observed.TryGetValue(epoch, out var seen) && seen.CompareTo(head) > 0)
        {
            head = seen;
        }

        return true;
    }

    private static string Format(string epoch, StreamEntryId id) => string.Concat(epoch, "-", id.ToString());

    private static bool TryParse(string offset, out string epoch, out StreamEntryId id)
    {
        epoch = string.Empty;
        id = default;
        var dash = offset.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !StreamEntryId.TryParse(offset[(dash + 1)..], out id))
        {
            return false;
        }

        epoch = offset[..dash];
        return true;
    }
}
