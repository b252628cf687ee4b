using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace Relay.Bff;

/// <summary>
/// Sessions in Redis, so any Relay instance serves any session and a restart keeps them. Keys are the SHA-256 of the
/// session id: someone who can read Redis learns no id that a forged cookie could carry.
/// </summary>
internal sealed class RedisBffSessionStore(IConnectionMultiplexer redis, TimeProvider timeProvider) : IBffSessionStore
{
    private const string KeyPrefix = "relay:bff:session:";

    public async Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetAsync(Key(id)).WaitAsync(cancellationToken);
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        var session = JsonSerializer.Deserialize(value.ToString(), BffJsonContext.Default.BffSession);
        return session is not null && session.Id == id && session.SessionExpiresAt > timeProvider.GetUtcNow() ? session : null;
    }

    public async Task SetAsync(BffSession session, CancellationToken cancellationToken)
    {
        var lifetime = session.SessionExpiresAt - timeProvider.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            await RemoveAsync(session.Id, cancellationToken);
            return;
        }

        var json = JsonSerializer.Serialize(session, BffJsonContext.Default.BffSession);
        await redis.GetDatabase().StringSetAsync(Key(session.Id), json, lifetime).WaitAsync(cancellationToken);
    }

    public Task RemoveAsync(string id, CancellationToken cancellationToken)
        => redis.GetDatabase().KeyDeleteAsync(Key(id)).WaitAsync(cancellationToken);

    private static RedisKey Key(string id) => KeyPrefix + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
}
