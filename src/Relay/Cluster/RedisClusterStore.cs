using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary><see cref="IClusterStore"/> on the instance's Redis connection (connected on first use).</summary>
internal sealed class RedisClusterStore(Func<IConnectionMultiplexer> redis) : IClusterStore
{
    public bool IsConnected => redis().IsConnected;

    private IDatabase Database => redis().GetDatabase();

    public async Task<string?> GetOrCreateEpochAsync(ClusterKeys keys)
    {
        var database = Database;
        await database.StringSetAsync(keys.Epoch, ClusterUpstream.NewEpoch(), when: When.NotExists);
        return await database.StringGetAsync(keys.Epoch);
    }

    public Task<StreamEntry[]> RangeAsync(ClusterKeys keys, string first, string last, int count)
        => Database.StreamRangeAsync(keys.Events, first, last, count);

    public async Task<StreamEntry?> LastEntryAsync(ClusterKeys keys)
    {
        var last = await Database.StreamRangeAsync(keys.Events, "-", "+", 1, Order.Descending);
        return last.Length > 0 ? last[0] : null;
    }

    public Task<StreamEntry[]> ReadAfterAsync(ClusterKeys keys, RedisValue position, int count)
        => Database.StreamReadAsync(keys.Events, position, count);

    public async Task<RedisValue> AppendAsync(ClusterKeys keys, NameValueEntry[] fields, int maxLength)
    {
        if (EventMember(fields) is not { } member)
        {
            return await Database.StreamAddAsync(keys.Events, fields, maxLength: maxLength, useApproximateMaxLength: true);
        }

        var arguments = new RedisValue[2 + (2 * fields.Length)];
        arguments[0] = member;
        arguments[1] = maxLength;
        for (var i = 0; i < fields.Length; i++)
        {
            arguments[2 + (2 * i)] = fields[i].Name;
            arguments[3 + (2 * i)] = fields[i].Value;
        }

        return (RedisValue)await Database.ScriptEvaluateAsync(ClusterScripts.AppendEvent, [keys.Events, keys.Lease], arguments);
    }

    public Task TrimOlderThanAsync(ClusterKeys keys, DateTimeOffset minTime)
        => Database.ExecuteAsync("XTRIM", keys.Events, "MINID", "~", $"{minTime.ToUnixTimeMilliseconds()}-0");

    public async Task<string?> PublishTopicsAsync(ClusterKeys keys, string member, string entry)
        => (string?)await Database.ScriptEvaluateAsync(ClusterScripts.Publish, [keys.Topics, keys.Epoch], [member, entry]);

    public Task<HashEntry[]> ReadTopicsAsync(ClusterKeys keys) => Database.HashGetAllAsync(keys.Topics);

    public Task RemoveTopicsIfUnchangedAsync(ClusterKeys keys, string member, string entry)
        => Database.ScriptEvaluateAsync(ClusterScripts.DeleteFieldIfUnchanged, [keys.Topics], [member, entry]);

    public async Task<bool> LeaveAsync(ClusterKeys keys, string member, DateTimeOffset now)
        => (long)await Database.ScriptEvaluateAsync(ClusterScripts.Leave, [keys.Topics, keys.Lease, keys.Events, keys.Epoch], [member, now.ToUnixTimeMilliseconds()]) == 1;

    public Task<bool> TryTakeAsync(RedisKey key, string member, TimeSpan expiry)
        => Database.StringSetAsync(key, member, expiry, When.NotExists);

    public Task SetAsync(RedisKey key, string value, TimeSpan expiry) => Database.StringSetAsync(key, value, expiry);

    public async Task<string?> GetAsync(RedisKey key) => await Database.StringGetAsync(key);

    public async Task<bool> RenewAsync(RedisKey key, string member, TimeSpan expiry)
        => (long)await Database.ScriptEvaluateAsync(ClusterScripts.Renew, [key], [member, (long)expiry.TotalMilliseconds]) == 1;

    public Task DeleteIfHeldAsync(RedisKey key, string member) => Database.ScriptEvaluateAsync(ClusterScripts.DeleteIfHeld, [key], [member]);

    public Task TransferAsync(RedisKey key, string member, string successor, TimeSpan expiry)
        => Database.ScriptEvaluateAsync(ClusterScripts.Transfer, [key], [member, successor, (long)expiry.TotalMilliseconds]);

    public Task NotifyAsync(ClusterKeys keys, char kind) => redis().GetSubscriber().PublishAsync(keys.Notify, kind.ToString());

    public async Task<IAsyncDisposable> SubscribeAsync(ClusterKeys keys, Action<char> onMessage)
    {
        var queue = await redis().GetSubscriber().SubscribeAsync(keys.Notify);
        queue.OnMessage(message =>
        {
            var text = message.Message.ToString();
            if (text.Length > 0)
            {
                onMessage(text[0]);
            }
        });
        return new Subscription(queue);
    }

    /// <summary>The member of an event entry; null for every other kind.</summary>
    internal static string? EventMember(NameValueEntry[] fields)
    {
        string? kind = null;
        string? member = null;
        foreach (var field in fields)
        {
            if (field.Name == EntryFields.Kind)
            {
                kind = field.Value;
            }
            else if (field.Name == EntryFields.Instance)
            {
                member = field.Value;
            }
        }

        return kind == EntryKinds.Event ? member : null;
    }

    /// <summary>Ends one incarnation's subscription only: another one on this instance may follow the same Stream.</summary>
    private sealed class Subscription(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
    }
}
