using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Relay.PocketBase;
using StackExchange.Redis;

namespace Relay.Bff;

/// <summary>
/// Sessions in Redis, so any Relay instance serves any session and a restart keeps them. Keys are the SHA-256 of the
/// session id and the token is encrypted with Data Protection (<see cref="StoredBffSession"/>): someone who can read
/// Redis learns no id a forged cookie could carry and no token. A removal is announced on a channel, so every instance
/// closes the hub connections it holds for that session; each user's sessions are indexed for the per-user cap.
/// </summary>
/// <remarks>
/// Sessions stored by earlier versions (<c>relay:bff:session:*</c>, token in clear) are not read: upgrading signs
/// everyone out once. Those keys expire on their own within <see cref="BffOptions.SessionLifetime"/>.
/// </remarks>
internal sealed class RedisBffSessionStore : IBffSessionStore
{
    private const string KeyPrefix = "relay:bff:s2:";
    private const string UserPrefix = "relay:bff:user:";
    private const string UsedOncePrefix = "relay:bff:once:";
    private const string TokenPurpose = "Relay.Bff.SessionToken";
    private const int LiveBatch = 500;
    private static readonly RedisChannel EndedChannel = RedisChannel.Literal("relay:bff:ended");

    private readonly IConnectionMultiplexer _redis;
    private readonly IDataProtector _protector;
    private readonly TimeProvider _timeProvider;

    public RedisBffSessionStore(IConnectionMultiplexer redis, BffHubConnections hubConnections, IDataProtectionProvider dataProtection, TimeProvider timeProvider)
    {
        _redis = redis;
        _protector = dataProtection.CreateProtector(TokenPurpose);
        _timeProvider = timeProvider;
        redis.GetSubscriber().Subscribe(EndedChannel, (_, hash) =>
        {
            if (hash.HasValue)
            {
                hubConnections.CloseAllByHash(hash.ToString());
            }
        });
    }

    public async Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var value = await Guard(_redis.GetDatabase().StringGetAsync(Key(BffSessionHash.Of(id)))).WaitAsync(cancellationToken);
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        StoredBffSession? stored;
        string token;
        try
        {
            stored = JsonSerializer.Deserialize(value.ToString(), BffJsonContext.Default.StoredBffSession);
            if (stored is null)
            {
                return null;
            }

            token = _protector.Unprotect(stored.ProtectedToken);
        }
        catch (Exception ex) when (ex is JsonException or CryptographicException or FormatException)
        {
            // Unreadable (its key ring lost, or tampered with): the session is over, not an error for the browser.
            return null;
        }

        return stored.SessionExpiresAt > _timeProvider.GetUtcNow()
            ? new BffSession(id, stored.CollectionId, stored.CollectionName, stored.RecordId, token, stored.TokenExpiresAt, stored.ValidatedAt, stored.SessionExpiresAt, stored.RecordJson)
            : null;
    }

    public async Task SetAsync(BffSession session, CancellationToken cancellationToken)
    {
        var hash = BffSessionHash.Of(session.Id);
        var lifetime = session.SessionExpiresAt - _timeProvider.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            await RemoveAsync(hash, cancellationToken);
            return;
        }

        var database = _redis.GetDatabase();
        var user = UserKey(session);
        var transaction = database.CreateTransaction();
        _ = transaction.StringSetAsync(Key(hash), Serialize(session), lifetime);
        _ = transaction.SortedSetAddAsync(user, hash, session.SessionExpiresAt.ToUnixTimeMilliseconds());
        // Every session lives equally long, so the newest one's lifetime is the index's.
        _ = transaction.KeyExpireAsync(user, lifetime);
        await Guard(transaction.ExecuteAsync()).WaitAsync(cancellationToken);
    }

    public async Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken)
    {
        var lifetime = session.SessionExpiresAt - _timeProvider.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            return false;
        }

        // SET ... XX: written only while the key exists, atomically with respect to a sign-out's DEL on any instance.
        return await Guard(_redis.GetDatabase().StringSetAsync(Key(BffSessionHash.Of(session.Id)), Serialize(session), lifetime, When.Exists)).WaitAsync(cancellationToken);
    }

    public async Task RemoveAsync(string hash, CancellationToken cancellationToken)
    {
        await Guard(_redis.GetDatabase().KeyDeleteAsync(Key(hash))).WaitAsync(cancellationToken);
        await Guard(_redis.GetSubscriber().PublishAsync(EndedChannel, hash)).WaitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> TrimUserAsync(BffSession newest, int maxPerUser, CancellationToken cancellationToken)
    {
        var database = _redis.GetDatabase();
        var user = UserKey(newest);
        var newestHash = BffSessionHash.Of(newest.Id);
        var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        await Guard(database.SortedSetRemoveRangeByScoreAsync(user, double.NegativeInfinity, now)).WaitAsync(cancellationToken);

        // Oldest first (scored by expiry, and every session lives equally long). Members whose session already ended
        // (signed out, refused) are dropped from the index instead of counted.
        var members = (await Guard(database.SortedSetRangeByRankAsync(user)).WaitAsync(cancellationToken)).Select(static m => m.ToString()).Where(h => h != newestHash).ToList();
        var live = await LiveAsync(members, cancellationToken);
        var stale = members.Where(h => !live.Contains(h)).Select(static h => (RedisValue)h).ToArray();
        if (stale.Length > 0)
        {
            await Guard(database.SortedSetRemoveAsync(user, stale)).WaitAsync(cancellationToken);
        }

        var ordered = members.Where(live.Contains).ToList();
        var ended = ordered.Take(Math.Max(0, ordered.Count + 1 - maxPerUser)).ToList();
        foreach (var hash in ended)
        {
            await RemoveAsync(hash, cancellationToken);
            await Guard(database.SortedSetRemoveAsync(user, hash)).WaitAsync(cancellationToken);
        }

        return ended;
    }

    public async Task<IReadOnlySet<string>> LiveAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        var database = _redis.GetDatabase();
        foreach (var chunk in hashes.Chunk(LiveBatch))
        {
            // EXISTS per key, pipelined: a key is gone once its session ended or its TTL (the session's expiry) ran out.
            var checks = chunk.Select(hash => (Hash: hash, Exists: database.KeyExistsAsync(Key(hash)))).ToList();
            foreach (var (hash, exists) in checks)
            {
                if (await Guard(exists).WaitAsync(cancellationToken))
                {
                    live.Add(hash);
                }
            }
        }

        return live;
    }

    public async Task<bool> TryUseOnceAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
        => await Guard(_redis.GetDatabase().StringSetAsync(UsedOncePrefix + key, 1, lifetime, When.NotExists)).WaitAsync(cancellationToken);

    private string Serialize(BffSession session) => JsonSerializer.Serialize(
        new StoredBffSession(session.CollectionId, session.CollectionName, session.RecordId, _protector.Protect(session.Token), session.TokenExpiresAt, session.ValidatedAt, session.SessionExpiresAt, session.RecordJson),
        BffJsonContext.Default.StoredBffSession);

    /// <summary>Redis being unreachable surfaces as <see cref="UpstreamException"/>, which every BFF caller answers with 503.</summary>
    private static async Task<T> Guard<T>(Task<T> call)
    {
        try
        {
            return await call;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new UpstreamException("The session store (Redis) could not be reached.", innerException: ex);
        }
    }

    private static RedisKey Key(string hash) => KeyPrefix + hash;

    private static RedisKey UserKey(BffSession session) => $"{UserPrefix}{session.CollectionId}:{session.RecordId}";
}
