using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// Reads a session's Redis Stream for one incarnation, in order, and owns where it reads: the Stream's epoch, the
/// position after the last entry read, the last entry handed to the session (the log's head) and the entries read lately
/// (<see cref="RecentEntries"/>). All of them change under <c>_gate</c> only, so a session thread (a replay positioning
/// reading, <see cref="StartAt"/>; a subscription reading the head) never sees half of a change. Reading is the loop's
/// (<see cref="ClusterUpstream"/>), which calls it when its inbox says entries were appended; it never holds
/// <c>_gate</c> while it hands an entry to the session (that takes the session's lock, which comes first).
/// </summary>
internal sealed class StreamFollower(IClusterStore store, ClusterKeys keys, int recentCapacity = StreamFollower.RecentCapacity)
{
    public const int ReadBatch = 500;
    public const int RecentCapacity = 256;

    private readonly RecentEntries _recent = new(recentCapacity);
    private readonly Lock _gate = new();
    private RedisValue _position = RedisValue.Null;
    private string? _epoch;
    private string? _head;

    /// <summary>Reading has a position (from its end, or after a replay's read-ahead).</summary>
    public bool IsStarted
    {
        get
        {
            lock (_gate)
            {
                return !_position.IsNull;
            }
        }
    }

    /// <summary>The Stream's epoch and the id of the last entry handed to the session; null until reading has started once.</summary>
    public (string Epoch, string EntryId)? Head
    {
        get
        {
            lock (_gate)
            {
                return _epoch is { } epoch && _head is { } head ? (epoch, head) : null;
            }
        }
    }

    /// <summary>The epoch read is <paramref name="epoch"/> (the Stream was not replaced since reading started).</summary>
    public bool IsReading(string? epoch)
    {
        lock (_gate)
        {
            return _epoch == epoch;
        }
    }

    /// <summary>
    /// Starts reading after <paramref name="position"/> of <paramref name="epoch"/> unless reading has a position already
    /// (no I/O): a replay read ahead up to there, so everything after it comes live.
    /// </summary>
    public void StartAt(string epoch, RedisValue position)
    {
        lock (_gate)
        {
            if (_position.IsNull)
            {
                SetStart(epoch, position);
            }
        }
    }

    /// <summary>Forgets the position (Redis came back, or the Stream was replaced): reading starts again from the end.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            _position = RedisValue.Null;
        }
    }

    /// <summary>
    /// Starts reading at the end of the Stream: everything a new follower needs comes after the owner's confirmation of
    /// its topics. Called before the topics are first published, or that confirmation could come before the start. A
    /// position a replay set first stands, unless it is of another epoch (the Stream was replaced meanwhile).
    /// </summary>
    /// <param name="stopping">Cancels the reads.</param>
    /// <param name="fromStart">
    /// Start at the Stream's beginning instead (a Stream that replaced the one read: all of it is new to the connections).
    /// </param>
    /// <returns>
    /// True when it replaced a replay's position of another epoch: the connections replayed from the old Stream are owed a
    /// <c>Resync</c> (the caller sends it, as when publishing finds the Stream replaced); reading then starts at the new
    /// Stream's beginning.
    /// </returns>
    public async Task<bool> StartFromEndAsync(CancellationToken stopping, bool fromStart = false)
    {
        // The epoch names this incarnation of the Stream: when its keys are deleted (or Redis comes back empty) a new one
        // is drawn, so an offset from before never matches the new Stream's ids.
        var epoch = await store.GetOrCreateEpochAsync(keys).WaitAsync(stopping);
        var last = await store.LastEntryAsync(keys).WaitAsync(stopping);
        lock (_gate)
        {
            if (!_position.IsNull && _epoch == epoch)
            {
                return false;
            }

            var replaced = !_position.IsNull;
            SetStart(epoch, !fromStart && !replaced && last is { } entry ? entry.Id : "0-0");
            return replaced;
        }
    }

    /// <summary>Entries read lately, from memory: a replay under the session's lock never waits for Redis.</summary>
    public bool TryReadRecent(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries)
        => _recent.TryRead(first, last, inclusive, out entries);

    /// <summary>
    /// Reads what was appended since the last read, in batches, and hands each entry to <paramref name="apply"/> in
    /// order with its offset (<c>EPOCH-ID</c>). Nothing to do before reading has started.
    /// </summary>
    public async Task ReadAsync(Func<ClusterEntry, string?, Task> apply, CancellationToken stopping)
    {
        while (true)
        {
            RedisValue position;
            string? epoch;
            lock (_gate)
            {
                (position, epoch) = (_position, _epoch);
            }

            if (position.IsNull)
            {
                return;
            }

            var entries = await store.ReadAfterAsync(keys, position, ReadBatch).WaitAsync(stopping);
            foreach (var entry in entries)
            {
                var id = entry.Id.ToString();
                lock (_gate)
                {
                    _position = entry.Id;
                }

                // Held before the session sees it: a replay bounded by what the session saw finds it here.
                _recent.Add(entry);
                await apply(ClusterEntry.Decode(entry), epoch is null ? null : string.Concat(epoch, "-", id));

                // After the session saw it (an event takes the session's lock inside apply): a replay reads up to here.
                lock (_gate)
                {
                    _head = id;
                }
            }

            if (entries.Length < ReadBatch)
            {
                return;
            }
        }
    }

    /// <summary>Reading starts after <paramref name="position"/>; under <c>_gate</c>.</summary>
    private void SetStart(string? epoch, RedisValue position)
    {
        _epoch = epoch;
        _position = position;
        _recent.Reset(StreamEntryId.Parse(position.ToString()));
        _head = position.ToString();
    }
}
