using System.Text.Json;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Bff;

/// <summary>
/// Sessions in Redis, so any Relay instance serves any session and a restart keeps them. Keys are the SHA-256 of the
/// session id: someone who can read Redis learns no id that a forged cookie could carry. A removal is announced on a
/// channel, so every instance closes the hub connections it holds for that session.
/// </summary>
internal sealed class RedisBffSessionStore : IBffSessionStore
{
    private const string KeyPrefix = "relay:bff:session:";
    private static readonly RedisChannel EndedChannel = RedisChannel.Literal("relay:bff:ended");

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _timeProvider;

    public RedisBffSessionStore(IConnectionMultiplexer redis, BffHubConnections hubConnections, TimeProvider timeProvider)
    {
        _redis = redis;
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
        var value = await Guard(_redis.GetDatabase().StringGetAsync(Key(id))).WaitAsync(cancellationToken);
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        var session = JsonSerializer.Deserialize(value.ToString(), BffJsonContext.Default.BffSession);
        return session is not null && session.Id == id && session.SessionExpiresAt > _timeProvider.GetUtcNow() ? session : null;
    }

    public async Task SetAsync(BffSession session, CancellationToken cancellationToken)
    {
        var lifetime = session.SessionExpiresAt - _timeProvider.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            await RemoveAsync(session.Id, cancellationToken);
            return;
        }

        var json = JsonSerializer.Serialize(session, BffJsonContext.Default.BffSession);
        await Guard(_redis.GetDatabase().StringSetAsync(Key(session.Id), json, lifetime)).WaitAsync(cancellationToken);
    }

    public async Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken)
    {
        var lifetime = session.SessionExpiresAt - _timeProvider.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            return false;
        }

        // SET ... XX: written only while the key exists, atomically with respect to a sign-out's DEL on any instance.
        var json = JsonSerializer.Serialize(session, BffJsonContext.Default.BffSession);
        return await Guard(_redis.GetDatabase().StringSetAsync(Key(session.Id), json, lifetime, When.Exists)).WaitAsync(cancellationToken);
    }

    public async Task RemoveAsync(string id, CancellationToken cancellationToken)
    {
        await Guard(_redis.GetDatabase().KeyDeleteAsync(Key(id))).WaitAsync(cancellationToken);
        await Guard(_redis.GetSubscriber().PublishAsync(EndedChannel, BffHubConnections.Hash(id))).WaitAsync(cancellationToken);
    }

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

    private static RedisKey Key(string id) => KeyPrefix + BffHubConnections.Hash(id);
}
