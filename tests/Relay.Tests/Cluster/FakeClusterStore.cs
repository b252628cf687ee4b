using System.Globalization;
using System.Text.RegularExpressions;
using Relay.Cluster;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>
/// An in-memory <see cref="IClusterStore"/> with Redis's semantics for what cluster mode uses (expiring keys, Streams
/// with time-based ids, the compare-then-change scripts), on a <see cref="TimeProvider"/>; shared by the instances of a
/// test. Every call is counted; range reads can be held in flight; <see cref="IsConnected"/> false fails every call.
/// </summary>
internal sealed partial class FakeClusterStore(TimeProvider? timeProvider = null) : IClusterStore
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Value, DateTimeOffset? ExpiresAt)> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, string>> _hashes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<StreamEntry>> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Action<char>>> _subscribers = new(StringComparer.Ordinal);
    private Action? _beforeEpochRead;
    private Action? _beforePublish;
    private int _inFlight;
    private int _epochReads;
    private int _rangeReads;
    private int _streamReads;
    private int _maxInFlight;
    private volatile bool _connected = true;

    public bool IsConnected
    {
        get => _connected;
        set => _connected = value;
    }

    public int EpochReads => Volatile.Read(ref _epochReads);

    public int RangeReads => Volatile.Read(ref _rangeReads);

    /// <summary>The followers' reads after their position (XREAD).</summary>
    public int StreamReads => Volatile.Read(ref _streamReads);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Every read of the session logs so far (a replay under the session's lock must add none).</summary>
    public int Calls => EpochReads + RangeReads;

    /// <summary>While set, every range read waits for it.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>Redis restarted empty.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            _strings.Clear();
            _hashes.Clear();
            _streams.Clear();
        }
    }

    public string EpochOf(string streamName)
    {
        lock (_gate)
        {
            return GetOrCreateEpoch(new ClusterKeys(streamName));
        }
    }

    public string? Get(RedisKey key)
    {
        lock (_gate)
        {
            return GetString(key);
        }
    }

    public IReadOnlyDictionary<string, string> Topics(string streamName)
    {
        lock (_gate)
        {
            return _hashes.TryGetValue(new ClusterKeys(streamName).Topics.ToString(), out var hash) ? new Dictionary<string, string>(hash) : [];
        }
    }

    /// <summary>Adds an entry with the id it names (tests that write the Stream as an owner would).</summary>
    public RedisValue Append(string streamName, StreamEntry entry)
    {
        lock (_gate)
        {
            Stream(new ClusterKeys(streamName)).Add(entry);
        }

        return entry.Id;
    }

    public StreamEntry[] Entries(string streamName)
    {
        lock (_gate)
        {
            return [.. Stream(new ClusterKeys(streamName))];
        }
    }

    /// <summary>Runs (once, then cleared) before the next epoch read: lets a test act while a follower starts reading.</summary>
    public Action? BeforeEpochRead
    {
        get => Volatile.Read(ref _beforeEpochRead);
        set => Volatile.Write(ref _beforeEpochRead, value);
    }

    /// <summary>Runs (once, then cleared) before the next topics publish: lets a test act after a follower started reading.</summary>
    public Action? BeforePublish
    {
        get => Volatile.Read(ref _beforePublish);
        set => Volatile.Write(ref _beforePublish, value);
    }

    public Task<string?> GetOrCreateEpochAsync(ClusterKeys keys)
    {
        Interlocked.Increment(ref _epochReads);
        Interlocked.Exchange(ref _beforeEpochRead, null)?.Invoke();
        return Run<string?>(() => GetOrCreateEpoch(keys));
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

            return await Run(() =>
            {
                var from = first == "-" ? default : StreamEntryId.Parse(first);
                var to = last == "+" ? new StreamEntryId(long.MaxValue, long.MaxValue) : StreamEntryId.Parse(last);
                return Stream(keys).Where(entry => IdOf(entry).CompareTo(from) >= 0 && IdOf(entry).CompareTo(to) <= 0).Take(count).ToArray();
            });
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public Task<StreamEntry?> LastEntryAsync(ClusterKeys keys)
        => Run<StreamEntry?>(() => Stream(keys) is { Count: > 0 } stream ? stream[^1] : null);

    public Task<StreamEntry[]> ReadAfterAsync(ClusterKeys keys, RedisValue position, int count)
    {
        Interlocked.Increment(ref _streamReads);
        return ReadAfter(keys, position, count);
    }

    private Task<StreamEntry[]> ReadAfter(ClusterKeys keys, RedisValue position, int count)
        => Run(() =>
        {
            var after = StreamEntryId.Parse(position.ToString());
            return Stream(keys).Where(entry => IdOf(entry).CompareTo(after) > 0).Take(count).ToArray();
        });

    /// <summary>Appends to fail (a timeout) while connected before they succeed again.</summary>
    public int FailingAppends;

    public Task<RedisValue> AppendAsync(ClusterKeys keys, NameValueEntry[] fields, int maxLength)
        => Run(() =>
        {
            if (Interlocked.Decrement(ref FailingAppends) >= 0)
            {
                throw new RedisTimeoutException("Append timed out (test).", CommandStatus.Sent);
            }

            Interlocked.Exchange(ref FailingAppends, 0);

            // As RedisClusterStore: an event of a member whose lease another member holds is dropped.
            if (RedisClusterStore.EventMember(fields) is { } member && GetString(keys.Lease) is { } holder && holder != member)
            {
                return RedisValue.Null;
            }

            var stream = Stream(keys);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var last = stream.Count > 0 ? IdOf(stream[^1]) : default;
            var id = now > last.Milliseconds ? new StreamEntryId(now, 0) : new StreamEntryId(last.Milliseconds, last.Sequence + 1);
            stream.Add(new StreamEntry(id.ToString(), fields));
            if (stream.Count > maxLength)
            {
                stream.RemoveRange(0, stream.Count - maxLength);
            }

            return (RedisValue)id.ToString();
        });

    public Task TrimOlderThanAsync(ClusterKeys keys, DateTimeOffset minTime)
        => Run(() => Stream(keys).RemoveAll(entry => IdOf(entry).Milliseconds < minTime.ToUnixTimeMilliseconds()));

    public Task<string?> PublishTopicsAsync(ClusterKeys keys, string member, string entry)
    {
        Interlocked.Exchange(ref _beforePublish, null)?.Invoke();
        return Run(() =>
        {
            Hash(keys)[member] = entry;
            return GetString(keys.Epoch);
        });
    }

    public Task<HashEntry[]> ReadTopicsAsync(ClusterKeys keys)
        => Run(() => Hash(keys).Select(static pair => new HashEntry(pair.Key, pair.Value)).ToArray());

    public Task RemoveTopicsIfUnchangedAsync(ClusterKeys keys, string member, string entry)
        => Run(() => Hash(keys).TryGetValue(member, out var value) && value == entry && Hash(keys).Remove(member));

    public Task<bool> LeaveAsync(ClusterKeys keys, string member, DateTimeOffset now)
        => Run(() =>
        {
            var hash = Hash(keys);
            hash.Remove(member);
            if (GetString(keys.Lease) == member)
            {
                _strings.Remove(keys.Lease.ToString());
            }

            foreach (var value in hash.Values)
            {
                if (Expiry().Match(value) is { Success: true } match
                    && long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) >= now.ToUnixTimeMilliseconds())
                {
                    return false;
                }
            }

            _hashes.Remove(keys.Topics.ToString());
            _streams.Remove(keys.Events.ToString());
            _strings.Remove(keys.Epoch.ToString());
            return true;
        });

    public Task<bool> TryTakeAsync(RedisKey key, string member, TimeSpan expiry)
        => Run(() =>
        {
            if (GetString(key) is not null)
            {
                return false;
            }

            _strings[key.ToString()] = (member, _time.GetUtcNow() + expiry);
            return true;
        });

    public Task SetAsync(RedisKey key, string value, TimeSpan expiry)
        => Run(() => _strings[key.ToString()] = (value, _time.GetUtcNow() + expiry));

    public Task<string?> GetAsync(RedisKey key) => Run(() => GetString(key));

    public Task<bool> RenewAsync(RedisKey key, string member, TimeSpan expiry)
        => Run(() =>
        {
            if (GetString(key) != member)
            {
                return false;
            }

            _strings[key.ToString()] = (member, _time.GetUtcNow() + expiry);
            return true;
        });

    public Task DeleteIfHeldAsync(RedisKey key, string member)
        => Run(() => GetString(key) == member && _strings.Remove(key.ToString()));

    public Task TransferAsync(RedisKey key, string member, string successor, TimeSpan expiry)
        => Run(() =>
        {
            if (GetString(key) == member)
            {
                _strings[key.ToString()] = (successor, _time.GetUtcNow() + expiry);
            }

            return true;
        });

    /// <summary>Notifications are lost (as while Redis reconnects): streams learn of appends only by reading unasked.</summary>
    public bool LoseNotifications { get; set; }

    /// <summary>How many incarnations listen on the notifications of <paramref name="streamName"/>.</summary>
    public int Listeners(string streamName)
    {
        lock (_gate)
        {
            return _subscribers.GetValueOrDefault(new ClusterKeys(streamName).Notify.ToString())?.Count ?? 0;
        }
    }

    public Task NotifyAsync(ClusterKeys keys, char kind)
    {
        Action<char>[] subscribers;
        lock (_gate)
        {
            EnsureConnected();
            subscribers = LoseNotifications ? [] : [.. _subscribers.GetValueOrDefault(keys.Notify.ToString()) ?? []];
        }

        // As Redis does: delivered later, on another thread.
        _ = Task.Run(() =>
        {
            foreach (var subscriber in subscribers)
            {
                subscriber(kind);
            }
        });
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(ClusterKeys keys, Action<char> onMessage)
    {
        var channel = keys.Notify.ToString();
        lock (_gate)
        {
            EnsureConnected();
            if (!_subscribers.TryGetValue(channel, out var list))
            {
                _subscribers[channel] = list = [];
            }

            list.Add(onMessage);
        }

        return Task.FromResult<IAsyncDisposable>(new Subscription(this, channel, onMessage));
    }

    private void Unsubscribe(string channel, Action<char> onMessage)
    {
        lock (_gate)
        {
            if (_subscribers.TryGetValue(channel, out var list) && list.Remove(onMessage) && list.Count == 0)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    [GeneratedRegex(@"^-?\d+\|(\d+)")]
    private static partial Regex Expiry();

    private static StreamEntryId IdOf(StreamEntry entry) => StreamEntryId.Parse(entry.Id.ToString());

    private Task<T> Run<T>(Func<T> operation)
    {
        lock (_gate)
        {
            EnsureConnected();
            return Task.FromResult(operation());
        }
    }

    /// <summary>The host disposed the connection (after the cluster's StopAsync): every call throws, as a disposed multiplexer's do.</summary>
    public bool Disposed { get; set; }

    private void EnsureConnected()
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (!_connected)
        {
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "Redis is unreachable (test).");
        }
    }

    private string GetOrCreateEpoch(ClusterKeys keys)
    {
        if (GetString(keys.Epoch) is { } epoch)
        {
            return epoch;
        }

        epoch = ClusterUpstream.NewEpoch();
        _strings[keys.Epoch.ToString()] = (epoch, null);
        return epoch;
    }

    private string? GetString(RedisKey key)
    {
        if (!_strings.TryGetValue(key.ToString(), out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt is { } expiresAt && expiresAt <= _time.GetUtcNow())
        {
            _strings.Remove(key.ToString());
            return null;
        }

        return entry.Value;
    }

    private List<StreamEntry> Stream(ClusterKeys keys)
    {
        if (!_streams.TryGetValue(keys.Events.ToString(), out var stream))
        {
            _streams[keys.Events.ToString()] = stream = [];
        }

        return stream;
    }

    private Dictionary<string, string> Hash(ClusterKeys keys)
    {
        if (!_hashes.TryGetValue(keys.Topics.ToString(), out var hash))
        {
            _hashes[keys.Topics.ToString()] = hash = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        return hash;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) != current)
        {
            current = Volatile.Read(ref target);
        }
    }

    private sealed class Subscription(FakeClusterStore store, string channel, Action<char> onMessage) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            store.Unsubscribe(channel, onMessage);
            return ValueTask.CompletedTask;
        }
    }
}
