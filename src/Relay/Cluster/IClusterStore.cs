using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// The Redis operations of a session's event log in cluster mode (a seam: unit tests use an in-memory store). Every
/// call is a round trip: never under the session's lock.
/// </summary>
internal interface IClusterStore
{
    /// <summary>Redis answers now.</summary>
    bool IsConnected { get; }

    /// <summary>The epoch of the Stream at <paramref name="keys"/>, drawn now when its keys do not exist yet.</summary>
    Task<string?> GetOrCreateEpochAsync(ClusterKeys keys);

    /// <summary>The Stream's entries from <paramref name="first"/> through <paramref name="last"/> (ids or - and +), at most <paramref name="count"/>.</summary>
    Task<StreamEntry[]> RangeAsync(ClusterKeys keys, string first, string last, int count);
}
