namespace Relay.Cluster;

/// <summary>
/// The Lua scripts of cluster mode: every delete or change of a key another stream incarnation may now hold compares
/// first that it is still this incarnation's own, in one step on the Redis server.
/// </summary>
internal static class ClusterScripts
{
    /// <summary>KEYS[1]: a key; ARGV[1] its holder, ARGV[2] milliseconds. Only the holder renews: 1 when renewed.</summary>
    public const string Renew = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

    /// <summary>KEYS[1]: a key; ARGV[1] its holder. Deleted only by the holder: a late call from one that lost it changes nothing.</summary>
    public const string DeleteIfHeld = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    /// <summary>KEYS[1]: the lease; ARGV[1] its holder, ARGV[2] the successor, ARGV[3] milliseconds. Passed on only by the holder.</summary>
    public const string Transfer = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

    /// <summary>
    /// KEYS[1]: the topics hash; ARGV[1] a field, ARGV[2] the value read. Removes an expired entry only if nobody wrote
    /// the field since it was read.
    /// </summary>
    public const string DeleteFieldIfUnchanged = "if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('hdel', KEYS[1], ARGV[1]) else return 0 end";

    /// <summary>
    /// KEYS[1]: the topics hash, KEYS[2] the epoch; ARGV[1] this incarnation, ARGV[2] its entry. Publishes the entry and
    /// returns the epoch in the same step: an epoch other than the one this incarnation reads means the Stream it reads
    /// was deleted (and maybe created again) before its entry was there to keep it.
    /// </summary>
    public const string Publish = "redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) return redis.call('get', KEYS[2])";

    /// <summary>
    /// KEYS[1]: the topics hash, KEYS[2] the lease, KEYS[3] the events, KEYS[4] the epoch; ARGV[1] this incarnation,
    /// ARGV[2] now (Unix ms). Removes this incarnation's entry and its lease (if it still holds it), then the Stream's
    /// keys only if no live entry is left: the check and the delete in one step, so an incarnation that published its
    /// entry in between (the same session recreated here, or a follower elsewhere) never loses its Stream. 1 when deleted.
    /// </summary>
    public const string Leave = """
        redis.call('hdel', KEYS[1], ARGV[1])
        if redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end
        local fields = redis.call('hgetall', KEYS[1])
        for i = 2, #fields, 2 do
          local expiry = tonumber(string.match(fields[i], '^%-?%d+|(%d+)'))
          if expiry ~= nil and expiry >= tonumber(ARGV[2]) then return 0 end
        end
        redis.call('del', KEYS[1], KEYS[3], KEYS[4])
        return 1
        """;

    /// <summary>
    /// KEYS[1]: the events, KEYS[2] the lease; ARGV[1] the event's incarnation, ARGV[2] the approximate max length, then
    /// the entry's field/value pairs. An event goes into the Stream only while its incarnation holds the lease, or while
    /// nobody does. An owner cut off from Redis keeps reading PocketBase and its appends wait in the socket; when the link
    /// heals after another instance took the lease over (and sent its Resync), they would land after that Resync and
    /// every follower would deliver those events twice. Control entries (a successor's handover markers) are not fenced
    /// (<see cref="RedisClusterStore.AppendAsync"/> sends only events through this script).
    /// </summary>
    public const string AppendEvent = """
        local holder = redis.call('GET', KEYS[2])
        if holder and holder ~= ARGV[1] then
          return false
        end
        return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
        """;
}
