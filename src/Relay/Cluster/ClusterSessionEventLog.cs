using System.Globalization;
using System.Text.Json;
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
/// session's lock. What it replays was read ahead before the lock (<see cref="PrepareReadAsync"/>); only entries that
/// came in between are read under the lock (synchronously, one round trip). An event entry takes that same lock
/// to be routed (<see cref="Observe"/>), so it is either in the replay or delivered live after it, never both or neither.
/// Events read while running alone (Redis unreachable) have no Stream offset and go to an in-memory log as when alone.
/// </para>
/// </summary>
internal sealed class ClusterSessionEventLog : ISessionEventLog
{
    // A read-ahead serves the replays of the next few seconds (the burst it was made for). Bounded by offsets and by
    // entries held (each offset may read up to MaxEvents + 2 entries; a client can name any offset it likes).
    private const int MaxReadAheads = 256;
    private const int MaxReadAheadEntries = 10_000;
    private static readonly TimeSpan ReadAheadLifetime = TimeSpan.FromSeconds(5);

    private readonly SessionKey _key;
    private readonly string _name;
    private readonly ClusterNode _node;
    private readonly MemorySessionEventLog _local;
    private readonly int _maxEvents;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, EntryId> _observed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EntryId> _gapAt = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<ReadAhead?>> _readAhead = new(StringComparer.Ordinal);
    private int _readAheadEntries;

    public ClusterSessionEventLog(SessionKey key, ClusterNode node, HistoryOptions options, TimeProvider timeProvider)
    {
        _key = key;
        _name = key.ToString();
        _node = node;
        _local = new MemorySessionEventLog(options, timeProvider);
        _maxEvents = options.MaxEvents;
        _maxAge = options.MaxAge;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Never waits for Redis (it is read for every subscription, under the session's lock): while this instance follows
    /// the Stream but has not yet read where it ends, there is no offset to give (null).
    /// </summary>
    public string? Head
        => _node.Find(_name) is { FollowsStream: true } upstream
            ? TryGetHead(upstream.LogHead, out var epoch, out var head) ? Format(epoch, head) : null
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

    /// <summary>
    /// Reads the Stream from <paramref name="offset"/> to its end without the session's lock (and the epoch), kept a few
    /// seconds for the <see cref="TryReadSince"/> that follows: that one then positions a stream that has not started
    /// reading at the end read here and replays from memory, so a burst of reconnecting clients waits for no Redis call
    /// under the lock. Shared by callers with the same offset (a deploy moves many clients that saw the same event).
    /// </summary>
    public async ValueTask PrepareReadAsync(string offset, CancellationToken cancellationToken)
    {
        if (_maxEvents == 0 || !TryParse(offset, out _, out var since) || !_node.Enabled || !_node.IsConnected)
        {
            return;
        }

        // Callers with the same offset share one read (in flight, or done and fresh).
        if (!_readAhead.TryGetValue(offset, out var reading) || (reading.IsCompleted && (!reading.IsCompletedSuccessfully || reading.Result is not { } done || !IsFresh(done))))
        {
            if (_readAhead.Count >= MaxReadAheads || Volatile.Read(ref _readAheadEntries) > MaxReadAheadEntries)
            {
                // Bounded: a read-ahead dropped here only means its replay reads under the lock, as without one.
                _readAhead.Clear();
                Interlocked.Exchange(ref _readAheadEntries, 0);
            }

            reading = ReadAheadAsync(since);
            _readAhead[offset] = reading;
        }

        await ((Task)reading).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task<ReadAhead?> ReadAheadAsync(EntryId since)
    {
        try
        {
            var database = _node.Redis.GetDatabase();
            var keys = new ClusterKeys(_name);
            // As a stream starting to read does: the epoch is drawn when the Stream's keys are created.
            await database.StringSetAsync(keys.Epoch, ClusterUpstream.NewEpoch(), when: When.NotExists);
            var epoch = (string?)await database.StringGetAsync(keys.Epoch);
            var entries = await database.StreamRangeAsync(keys.Events, since.ToString(), "+", _maxEvents + 2);
            Interlocked.Add(ref _readAheadEntries, entries.Length);
            return epoch is null ? null : new ReadAhead(epoch, entries, _timeProvider.GetTimestamp());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The replay reads under the lock, or finds Redis gone and resyncs.
            return null;
        }
    }

    public bool TryReadSince(string offset, string upstreamTopic, out IReadOnlyList<RelayEvent> events)
    {
        events = [];
        if (!TryParse(offset, out var epoch, out var since))
        {
            return _local.TryReadSince(offset, upstreamTopic, out events);
        }

        var ahead = _readAhead.TryGetValue(offset, out var reading) && reading.IsCompletedSuccessfully
            && reading.Result is { } read && IsFresh(read) && read.Epoch == epoch ? read : null;
        if (ahead is not null)
        {
            // The offset's own entry trimmed away, or more after it than the history keeps: not recoverable.
            if (ahead.Entries.Length == 0 || (string?)ahead.Entries[0].Id != since.ToString() || ahead.Entries.Length > _maxEvents + 1)
            {
                return false;
            }

            // A stream that has not started reading starts after what was read ahead: the rest comes live.
            if (_node.Find(_name) is { FollowsStream: true, LogHead: null } starting)
            {
                starting.StartAt(ahead.Epoch, ahead.Entries[^1].Id);
            }
        }

        if (_maxEvents == 0 || !TryGetHead(out var headEpoch, out var head) || headEpoch != epoch || since.CompareTo(head) > 0
            || (_gapAt.TryGetValue(epoch, out var gap) && since.CompareTo(gap) < 0)
            || since.Milliseconds < (_timeProvider.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds())
        {
            return false;
        }

        if (_key.IsGuest && _node.FindAll(_name + "#").Any())
        {
            // The guests' topics spread over several Streams and the offset names only the first: not recoverable.
            return false;
        }

        StreamEntry[] entries;
        if (ahead is not null && EntryId.Parse(ahead.Entries[^1].Id.ToString()).CompareTo(head) >= 0)
        {
            // Read ahead up to or past the head: its part up to the head (the rest comes live).
            entries = [.. ahead.Entries.Where(entry => EntryId.Parse(entry.Id.ToString()).CompareTo(head) <= 0)];
        }
        else
        {
            try
            {
                // No read-ahead, or entries came after it: read under the lock.
                entries = _node.Find(_name) is { } upstream ? upstream.ReadRange(since.ToString(), head.ToString(), _maxEvents + 1) : [];
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return false;
            }
        }

        // The offset's own entry must still be there (not trimmed, same Stream), and nothing beyond the history's count.
        if (entries.Length == 0 || (string?)entries[0].Id != since.ToString()
            || (entries.Length == _maxEvents + 1 && (string?)entries[^1].Id != head.ToString()))
        {
            return false;
        }

        List<RelayEvent> missed = [];
        for (var i = 1; i < entries.Length; i++)
        {
            var entry = entries[i];
            var kind = (string?)entry[EntryFields.Kind];
            if (kind == EntryKinds.Resync)
            {
                return false;
            }

            if (kind == EntryKinds.Event && (string?)entry[EntryFields.Topic] == upstreamTopic)
            {
                missed.Add(new RelayEvent
                {
                    // The session sets the client's topic (the route's) when it replays.
                    Topic = string.Empty,
                    Action = (string)entry[EntryFields.Action]!,
                    Record = JsonSerializer.Deserialize((string)entry[EntryFields.Record]!, ClusterJsonContext.Default.JsonElement),
                    Offset = Format(epoch, EntryId.Parse(entry.Id.ToString())),
                });
            }
        }

        events = missed;
        return true;
    }

    public void MarkGap()
    {
        _local.MarkGap();
        if (TryGetHead(out var epoch, out var head))
        {
            _gapAt[epoch] = head;
        }
    }

    /// <summary>
    /// The Stream's epoch and the last entry this instance handed to the session, while it follows the Stream; reads
    /// where the Stream ends first (synchronously) when the stream's loop has not yet: a replay needs that bound.
    /// </summary>
    private bool TryGetHead(out string epoch, out EntryId head)
    {
        (string Epoch, string EntryId)? found;
        try
        {
            found = _node.Find(_name)?.EnsureLogHead();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // Redis failing right now: the stream goes alone shortly; until then nothing is recovered from it.
            found = null;
        }

        return TryGetHead(found, out epoch, out head);
    }

    private bool TryGetHead((string Epoch, string EntryId)? found, out string epoch, out EntryId head)
    {
        epoch = string.Empty;
        head = default;
        if (found is not { } logHead || !EntryId.TryParse(logHead.EntryId, out head))
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

    private bool IsFresh(ReadAhead readAhead) => _timeProvider.GetElapsedTime(readAhead.ReadAt) < ReadAheadLifetime;

    private static string Format(string epoch, EntryId id) => string.Concat(epoch, "-", id.ToString());

    /// <summary>What <see cref="PrepareReadAsync"/> read: the epoch and the Stream's entries from the offset on.</summary>
    private sealed record ReadAhead(string Epoch, StreamEntry[] Entries, long ReadAt);

    private static bool TryParse(string offset, out string epoch, out EntryId id)
    {
        epoch = string.Empty;
        id = default;
        var dash = offset.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !EntryId.TryParse(offset[(dash + 1)..], out id))
        {
            return false;
        }

        epoch = offset[..dash];
        return true;
    }

    /// <summary>A Redis Stream entry id, <c>MS-SEQ</c>.</summary>
    private readonly record struct EntryId(long Milliseconds, long Sequence) : IComparable<EntryId>
    {
        public static bool TryParse(string value, out EntryId id)
        {
            id = default;
            var dash = value.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0
                || !long.TryParse(value.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                || !long.TryParse(value.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                return false;
            }

            id = new EntryId(ms, seq);
            return true;
        }

        public static EntryId Parse(string value) => TryParse(value, out var id) ? id : default;

        public int CompareTo(EntryId other)
            => Milliseconds != other.Milliseconds ? Milliseconds.CompareTo(other.Milliseconds) : Sequence.CompareTo(other.Sequence);

        public override string ToString()
            => string.Concat(Milliseconds.ToString(CultureInfo.InvariantCulture), "-", Sequence.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>Session logs on the Redis Streams in cluster mode; in memory otherwise.</summary>
internal sealed class ClusterSessionEventLogFactory(ClusterNode node, Microsoft.Extensions.Options.IOptions<HistoryOptions> options, TimeProvider timeProvider) : ISessionEventLogFactory
{
    public ISessionEventLog Create(SessionKey key)
        => node.Enabled ? new ClusterSessionEventLog(key, node, options.Value, timeProvider) : new MemorySessionEventLog(options.Value, timeProvider);
}
