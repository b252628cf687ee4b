using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// The Redis operations of cluster mode, one method per operation used (a seam: unit tests run on an in-memory store).
/// Every call is a round trip: never under a session's lock. Whatever another stream incarnation may hold is changed
/// or deleted only after a compare that it is still the caller's own, in one step (<see cref="ClusterScripts"/>).
/// </summary>
internal interface IClusterStore
{
    /// <summary>Redis answers now.</summary>
    bool IsConnected { get; }

    /// <summary>The epoch of the Stream at <paramref name="keys"/>, drawn now when its keys do not exist yet.</summary>
    Task<string?> GetOrCreateEpochAsync(ClusterKeys keys);

    /// <summary>The Stream's entries from <paramref name="first"/> through <paramref name="last"/> (ids or - and +), at most <paramref name="count"/>.</summary>
    Task<StreamEntry[]> RangeAsync(ClusterKeys keys, string first, string last, int count);

    /// <summary>The Stream's last entry, if any.</summary>
    Task<StreamEntry?> LastEntryAsync(ClusterKeys keys);

    /// <summary>Up to <paramref name="count"/> entries after <paramref name="position"/>, in order.</summary>
    Task<StreamEntry[]> ReadAfterAsync(ClusterKeys keys, RedisValue position, int count);

    /// <summary>
    /// Appends an entry (the Stream trimmed to about <paramref name="maxLength"/> entries); its id. An event of an
    /// incarnation whose lease another holds is dropped (null id, <see cref="ClusterScripts.AppendEvent"/>).
    /// </summary>
    Task<RedisValue> AppendAsync(ClusterKeys keys, NameValueEntry[] fields, int maxLength);

    /// <summary>Trims the entries older than <paramref name="minTime"/> (about).</summary>
    Task TrimOlderThanAsync(ClusterKeys keys, DateTimeOffset minTime);

    /// <summary>Writes <paramref name="member"/>'s topic entry; the Stream's epoch, read in the same step (null when none).</summary>
    Task<string?> PublishTopicsAsync(ClusterKeys keys, string member, string entry);

    /// <summary>Every incarnation's topic entry.</summary>
    Task<HashEntry[]> ReadTopicsAsync(ClusterKeys keys);

    /// <summary>Removes <paramref name="member"/>'s topic entry if it is still <paramref name="entry"/> (an expired one).</summary>
    Task RemoveTopicsIfUnchangedAsync(ClusterKeys keys, string member, string entry);

    /// <summary>Removes <paramref name="member"/>'s entry and lease; the Stream's keys too when no live entry is left (<see cref="ClusterScripts.Leave"/>). True when deleted.</summary>
    Task<bool> LeaveAsync(ClusterKeys keys, string member, DateTimeOffset now);

    /// <summary>Sets <paramref name="key"/> to <paramref name="member"/> for <paramref name="expiry"/> unless it exists; true when taken.</summary>
    Task<bool> TryTakeAsync(RedisKey key, string member, TimeSpan expiry);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> for <paramref name="expiry"/>.</summary>
    Task SetAsync(RedisKey key, string value, TimeSpan expiry);

    /// <summary>The value of <paramref name="key"/>, if any.</summary>
    Task<string?> GetAsync(RedisKey key);

    /// <summary>Renews <paramref name="key"/> for <paramref name="expiry"/> if <paramref name="member"/> holds it; true when renewed.</summary>
    Task<bool> RenewAsync(RedisKey key, string member, TimeSpan expiry);

    /// <summary>Deletes <paramref name="key"/> if <paramref name="member"/> holds it.</summary>
    Task DeleteIfHeldAsync(RedisKey key, string member);

    /// <summary>Passes <paramref name="key"/> from <paramref name="member"/> to <paramref name="successor"/> if the first holds it.</summary>
    Task TransferAsync(RedisKey key, string member, string successor, TimeSpan expiry);

    /// <summary>Tells the incarnations following the Stream at <paramref name="keys"/> (<see cref="SubscribeAsync"/>) to look at it now (<paramref name="kind"/>: e, t or h).</summary>
    Task NotifyAsync(ClusterKeys keys, char kind);

    /// <summary>
    /// Calls <paramref name="onMessage"/> for every notification on the Stream at <paramref name="keys"/> once subscribed
    /// (the multiplexer keeps the subscription across reconnects) until the returned handle is disposed.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(ClusterKeys keys, Action<char> onMessage);
}
