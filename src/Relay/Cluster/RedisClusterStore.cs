using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary><see cref="IClusterStore"/> on the instance's Redis connection.</summary>
internal sealed class RedisClusterStore(ClusterNode node) : IClusterStore
{
    public bool IsConnected => node.IsConnected;

    public async Task<string?> GetOrCreateEpochAsync(ClusterKeys keys)
    {
        var database = node.Redis.GetDatabase();
        await database.StringSetAsync(keys.Epoch, ClusterUpstream.NewEpoch(), when: When.NotExists);
        return await database.StringGetAsync(keys.Epoch);
    }

    public Task<StreamEntry[]> RangeAsync(ClusterKeys keys, string first, string last, int count)
        => node.Redis.GetDatabase().StreamRangeAsync(keys.Events, first, last, count);
}
