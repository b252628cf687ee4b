using System.Globalization;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

internal sealed partial class ClusterUpstream
{
    private const int ReadBatch = 500;

    /// <summary>
    /// Reads what the owner appended since the last read, in order. SE.Redis multiplexes one connection, so a blocking
    /// XREAD would stall every other call, and one XREAD over every followed Stream would cross the hash slots of a Redis
    /// Cluster: each append is PUBLISHed on the session's own channel instead (pipelined behind the XADD, so it arrives
    /// after the entry exists), which wakes only the incarnations following that session, and they read at once. Once
    /// per <see cref="ClusterOptions.LeaseTime"/> they read unasked, in case a notification was lost.
    /// </summary>
    private async Task ReadStreamAsync(IClusterStore database, CancellationToken stopping)
    {
        while (true)
        {
            RedisValue position;
            lock (_startGate)
            {
                position = _position;
            }

            var entries = await database.ReadAfterAsync(_keys, position, ReadBatch).WaitAsync(stopping);
            foreach (var entry in entries)
            {
                lock (_startGate)
                {
                    _position = entry.Id;
                }

                // Held before the session sees it: a replay bounded by what the session saw finds it here.
                _recent.Add(entry);
                await ApplyAsync(entry);

                // After the session saw it (an event takes the session's lock inside ApplyAsync): a replay reads up to here.
                _fannedOut = entry.Id.ToString();
            }

            if (entries.Length < ReadBatch)
            {
                return;
            }
        }
    }

    private async Task ApplyAsync(StreamEntry streamEntry)
    {
        var entry = ClusterEntry.Decode(streamEntry);
        var instance = entry.Member;
        switch (entry.Kind)
        {
            case EntryKinds.Event:
                var upstreamEvent = new UpstreamEvent(entry.Topic!, entry.Action!, entry.RecordElement(), _timeProvider.GetTimestamp())
                {
                    LogOffset = _epoch is { } epoch ? string.Concat(epoch, "-", streamEntry.Id.ToString()) : null,
                };
                Volatile.Read(ref _successor)?.RecordPrimary(upstreamEvent);
                // Also a topic not yet published from here: the session routes only what it holds on this stream, and a
                // connection that was replayed up to here must get the events after it live.
                if (_state.Kind == Mode.Cluster)
                {
                    await _subscriber.OnEventAsync(upstreamEvent);
                }

                break;
            case EntryKinds.Applied:
                if (ParseApplied(entry.Versions, MemberId) is { } version)
                {
                    CompleteWaiters(version);
                }

                break;
            case EntryKinds.Refused:
                var refused = entry.Topics;
                FailRefused(refused);
                if (_state.Kind == Mode.Cluster)
                {
                    _subscriber.OnTopicsRefused(refused);
                    RequestSync();
                }

                break;
            case EntryKinds.Resync:
                if (_state.Kind == Mode.Cluster)
                {
                    await _subscriber.OnResubscribedAsync();
                }

                break;
            case EntryKinds.HandoverBegin when instance == MemberId:
                Volatile.Read(ref _successor)?.BeginRecording();
                break;
            case EntryKinds.HandoverReady when instance != MemberId:
                await OnSuccessorReadyAsync(instance!);
                break;
            case EntryKinds.HandoverDone when entry.Successor == MemberId:
                await CompleteSuccessionAsync();
                break;
        }
    }

    /// <summary>
    /// Starts reading at the end of the Stream: everything a new follower needs comes after the owner's confirmation of
    /// its topics. Called before the topics are first published, or that confirmation could come before the start.
    /// </summary>
    private async Task StartReadingAsync(IClusterStore database, CancellationToken stopping)
    {
        // The epoch names this incarnation of the Stream: when its keys are deleted (or Redis comes back empty) a new one
        // is drawn, so an offset from before never matches the new Stream's ids.
        var epoch = await database.GetOrCreateEpochAsync(_keys).WaitAsync(stopping);
        var last = await database.LastEntryAsync(_keys).WaitAsync(stopping);
        lock (_startGate)
        {
            // A replay may have positioned reading first (StartAt, after its read-ahead): its position stands.
            if (_position.IsNull)
            {
                SetStart(epoch, last is { } entry ? entry.Id : "0-0");
            }
        }
    }

    /// <summary>Reading starts after <paramref name="position"/>; under <c>_startGate</c>.</summary>
    private void SetStart(string? epoch, RedisValue position)
    {
        _epoch = epoch;
        _position = position;
        _recent.Reset(StreamEntryId.Parse(position.ToString()));
        _fannedOut = position.ToString();
    }

    /// <summary>The version an <c>applied</c> entry confirms for <paramref name="instance"/>: <c>id=version</c> pairs separated by commas.</summary>
    internal static long? ParseApplied(string? versions, string instance)
    {
        foreach (var pair in (versions ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = pair.IndexOf('=', StringComparison.Ordinal);
            if (separator > 0 && pair.AsSpan(0, separator).SequenceEqual(instance)
                && long.TryParse(pair.AsSpan(separator + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var version))
            {
                return version;
            }
        }

        return null;
    }

    private Task<RedisValue> AppendAsync(IClusterStore database, NameValueEntry[] fields)
        => database.AppendAsync(_keys, fields, _options.StreamMaxLength);
}
