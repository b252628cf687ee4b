using System.Collections.Concurrent;
using Relay.Cluster;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>An in-memory <see cref="IClusterStore"/>: one Stream per key set, every call counted; reads can be held in flight.</summary>
internal sealed class FakeClusterStore : IClusterStore
{
    private readonly ConcurrentDictionary<string, string> _epochs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<StreamEntry>> _streams = new(StringComparer.Ordinal);
    private int _inFlight;
    private int _epochReads;
    private int _rangeReads;
    private int _maxInFlight;

    public bool IsConnected { get; set; } = true;

    public int EpochReads => Volatile.Read(ref _epochReads);

    public int RangeReads => Volatile.Read(ref _rangeReads);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Every call so far (a replay under the session's lock must add none).</summary>
    public int Calls => EpochReads + RangeReads;

    /// <summary>While set, every range read waits for it.</summary>
    public TaskCompletionSource? Hold { get; set; }

    public string EpochOf(string streamName) => _epochs.GetOrAdd(new ClusterKeys(streamName).Epoch.ToString(), static _ => ClusterUpstream.NewEpoch());

    public RedisValue Append(string streamName, StreamEntry entry)
    {
        var stream = _streams.GetOrAdd(new ClusterKeys(streamName).Events.ToString(), static _ => []);
        lock (stream)
        {
            stream.Add(entry);
        }

        return entry.Id;
    }

    public StreamEntry[] Entries(string streamName)
    {
        var stream = _streams.GetOrAdd(new ClusterKeys(streamName).Events.ToString(), static _ => []);
        lock (stream)
        {
            return [.. stream];
        }
    }

    public Task<string?> GetOrCreateEpochAsync(ClusterKeys keys)
    {
        Interlocked.Increment(ref _epochReads);
        return Task.FromResult<string?>(_epochs.GetOrAdd(keys.Epoch.ToString(), static _ => ClusterUpstream.NewEpoch()));
    }

    public async Task<StreamEntry[]> RangeAsync(ClusterKeys keys, string first, string last, int count)
    {
        Interlocked.Increment(ref _rangeReads);
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, inFlight);
        try
        {
            if (Hold is { } hold)
            {
                await hold.Task;
            }

            var from = StreamEntryId.Parse(first);
            var stream = _streams.GetOrAdd(keys.Events.ToString(), static _ => []);
            lock (stream)
            {
                return [.. stream.Where(entry => StreamEntryId.Parse(entry.Id.ToString()).CompareTo(from) >= 0).Take(count)];
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) != current)
        {
            current = Volatile.Read(ref target);
        }
    }
}
