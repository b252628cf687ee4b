using Relay.Client.Protocol;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>The reads before the session's lock: which of the session's Streams an offset is of, and what it read ahead.</summary>
internal sealed partial class ClusterSessionEventLog
{
    /// <summary>
    /// The session's stream whose Stream <paramref name="offset"/> belongs to: one followed here at that epoch, else the
    /// one a fresh read-ahead found. No I/O (under the session's lock).
    /// </summary>
    public int? StreamIndexOf(string offset)
    {
        if (_streams == 1 || !TryParse(offset, out var epoch, out _))
        {
            return null;
        }

        if (FollowedIndexOf(epoch) is { } followed)
        {
            return followed;
        }

        lock (_readAheadGate)
        {
            return _readAhead.TryGetValue(offset, out var reading) && IsUsable(reading) && reading.Result!.Epoch == epoch ? reading.Result.Stream : null;
        }
    }

    private string StreamName(int index) => index == 0 ? _name : $"{_name}#{index}";

    /// <summary>The stream followed here whose Stream has <paramref name="epoch"/>, if any.</summary>
    private int? FollowedIndexOf(string epoch)
    {
        for (var i = 0; i < _streams; i++)
        {
            if (_followers.FindFollower(StreamName(i)) is { FollowsStream: true, LogHead: { } head } && head.Epoch == epoch)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Every stream of the session is followed here at another epoch than <paramref name="epoch"/>: no Stream to read.</summary>
    private bool AllFollowedElsewhere(string epoch)
    {
        for (var i = 0; i < _streams; i++)
        {
            if (_followers.FindFollower(StreamName(i)) is not { FollowsStream: true, LogHead: { } head } || head.Epoch == epoch)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Read-aheads held or in flight, and the entries they hold or reserve (for tests).</summary>
    internal (int Count, int Entries) ReadAheads
    {
        get
        {
            lock (_readAheadGate)
            {
                return (_readAhead.Count, _readAheadEntries);
            }
        }
    }

    /// <summary>
    /// Reads the Stream from <paramref name="offset"/> to its end without the session's lock (and the epoch), kept a few
    /// seconds for the <see cref="TryReadSince(string, string, string, out IReadOnlyList{RelayEvent})"/> that follows:
    /// that one then positions a stream that has not started reading at the end read here and replays from memory, so a
    /// burst of reconnecting clients waits for no Redis call under the lock. Shared by callers with the same offset (a deploy moves many clients that saw the same event).
    /// The offset's epoch is checked first: an offset of another Stream (an earlier one, or made up) reads no entries.
    /// </summary>
    public async ValueTask PrepareReadAsync(string offset, CancellationToken cancellationToken)
    {
        if (_maxEvents == 0 || !TryParse(offset, out var epoch, out var since) || !_store.IsConnected || AllFollowedElsewhere(epoch))
        {
            return;
        }

        Task<ReadAhead?> reading;
        lock (_readAheadGate)
        {
            // Callers with the same offset share one read (in flight, or done and fresh).
            if (!_readAhead.TryGetValue(offset, out reading!) || (reading.IsCompleted && !IsUsable(reading)))
            {
                EvictUnusable();
                if (_readAhead.Count >= MaxReadAheads || _readAheadEntries + _maxEvents + 2 > MaxReadAheadEntries)
                {
                    // Bounded: without a read-ahead the replay takes what the stream read lately, or is not recovered.
                    return;
                }

                _readAheadEntries += _maxEvents + 2;
                reading = ReadAheadAsync(epoch, since, FollowedIndexOf(epoch));
                _readAhead[offset] = reading;
            }
        }

        await ((Task)reading).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task<ReadAhead?> ReadAheadAsync(string epoch, StreamEntryId since, int? followed)
    {
        var held = 0;
        try
        {
            // The stream followed here at that epoch, else every stream of the session (the guests': their epochs read at
            // once, not one round trip after another).
            int[] candidates = followed is { } known ? [known] : [.. Enumerable.Range(0, _streams)];
            var epochs = await Task.WhenAll(candidates.Select(i => i == 0
                // As a stream starting to read does: the epoch is drawn when the Stream's keys are created. The guests'
                // further Streams are only looked at: one that does not exist holds no offset.
                ? _store.GetOrCreateEpochAsync(_keys)
                : _store.GetAsync(new ClusterKeys(StreamName(i)).Epoch)));
            var found = Array.IndexOf(epochs, epoch);
            if (found < 0)
            {
                return null;
            }

            var stream = candidates[found];
            var entries = await _store.RangeAsync(stream == 0 ? _keys : new ClusterKeys(StreamName(stream)), since.ToString(), "+", _maxEvents + 2);
            held = entries.Length;
            return new ReadAhead(epoch, stream, entries, _timeProvider.GetTimestamp());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The replay takes what the stream read lately, or finds Redis gone and resyncs.
            return null;
        }
        finally
        {
            lock (_readAheadGate)
            {
                // The reservation made when the read started becomes what it holds.
                _readAheadEntries += held - (_maxEvents + 2);
            }
        }
    }

    /// <summary>Drops finished read-aheads that serve no replay any more (failed, another epoch, stale); under <c>_readAheadGate</c>.</summary>
    private void EvictUnusable()
    {
        foreach (var (offset, reading) in _readAhead)
        {
            if (reading.IsCompleted && !IsUsable(reading))
            {
                _readAhead.Remove(offset);
                _readAheadEntries -= reading.IsCompletedSuccessfully && reading.Result is { } done ? done.Entries.Length : 0;
            }
        }
    }

    private bool IsUsable(Task<ReadAhead?> reading)
        => reading.IsCompletedSuccessfully && reading.Result is { } done && _timeProvider.GetElapsedTime(done.ReadAt) < ReadAheadLifetime;

    /// <summary>What <see cref="PrepareReadAsync"/> read: the epoch, the session's stream it is of, and the Stream's entries from the offset on.</summary>
    private sealed record ReadAhead(string Epoch, int Stream, StreamEntry[] Entries, long ReadAt);
}
