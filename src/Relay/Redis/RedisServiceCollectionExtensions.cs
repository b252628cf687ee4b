using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Relay.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

internal static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// <c>Relay:Redis</c> and the one <see cref="IConnectionMultiplexer"/> every Redis feature shares (cluster mode, BFF
    /// sessions, Data Protection keys). Created on first use, so nothing connects unless the configuration is set.
    /// </summary>
    public static IServiceCollection AddRelayRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<RedisOptions, RedisOptionsValidator>(configuration, RedisOptions.SectionName);
        services.TryAddSingleton<IConnectionMultiplexer>(static provider =>
        {
            var redisOptions = ConfigurationOptions.Parse(provider.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration!);
            // Relay starts while Redis is still coming up; calls fail until it is reachable instead of the host.
            redisOptions.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(redisOptions);
        });
        return services;
    }
}
