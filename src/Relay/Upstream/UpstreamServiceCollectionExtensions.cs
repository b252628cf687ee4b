using Microsoft.Extensions.DependencyInjection.Extensions;
using Relay.Upstream;

namespace Microsoft.Extensions.DependencyInjection;

internal static class UpstreamServiceCollectionExtensions
{
    /// <summary>The supervision of sessions' PocketBase streams, over <see cref="PocketBaseServiceCollectionExtensions.AddRelayPocketBase"/>.</summary>
    public static IServiceCollection AddRelayUpstream(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayPocketBase(configuration);
        services.TryAddSingleton<UpstreamConnectPipeline>();
        services.TryAddSingleton<UpstreamConnectionFactory>();
        services.TryAddSingleton<IUpstreamFactory>(static provider => provider.GetRequiredService<UpstreamConnectionFactory>());
        return services;
    }
}
