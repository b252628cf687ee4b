using Microsoft.Extensions.DependencyInjection.Extensions;
using Relay.Cluster;
using Relay.Upstream;

namespace Microsoft.Extensions.DependencyInjection;

internal static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Cluster mode, on when <c>Relay:Redis:Configuration</c> is set: one PocketBase stream per session across every
    /// instance on that Redis. Off, <see cref="ClusterNode"/> does nothing and sessions run their own streams.
    /// </summary>
    public static IServiceCollection AddRelayCluster(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayRedis(configuration);
        services.AddRelayOptions<ClusterOptions, ClusterOptionsValidator>(configuration, ClusterOptions.SectionName);
        services.TryAddSingleton<ClusterNode>();
        services.Replace(ServiceDescriptor.Singleton<IUpstreamFactory, ClusterUpstreamFactory>());
        services.TryAddSingleton<Relay.Sessions.ISessionEventLogFactory, ClusterSessionEventLogFactory>();
        services.AddHostedService(static provider => provider.GetRequiredService<ClusterNode>());
        services.AddHealthChecks().AddCheck<ClusterHealthCheck>("cluster", tags: [RelayEndpointRouteBuilderExtensions.ReadyTag]);
        return services;
    }
}
