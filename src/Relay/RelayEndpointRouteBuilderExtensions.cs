using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Relay;
using Relay.Client.Protocol;
using Relay.Hosting;
using Relay.Hubs;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Relay's endpoints.</summary>
public static class RelayEndpointRouteBuilderExtensions
{
    /// <summary>Liveness: 200 while the process serves requests.</summary>
    public const string LivePath = "/health/live";

    /// <summary>Readiness: 200 while PocketBase is reachable and Relay is not shutting down; 503 otherwise.</summary>
    public const string ReadyPath = "/health/ready";

    /// <summary>Prometheus scraping endpoint for the <c>Relay</c> meter.</summary>
    public const string MetricsPath = "/metrics";

    internal const string ReadyTag = "ready";

    internal const string CorsPolicy = "Relay";

    /// <summary>
    /// Maps the Relay hub at <see cref="RelayProtocol.HubPath"/>, open only to verified PocketBase users (and guests when
    /// allowed) and refusing new connections while draining, the health endpoints <see cref="LivePath"/> and
    /// <see cref="ReadyPath"/>, and <see cref="MetricsPath"/> (only on the <c>Relay:ManagementUrls</c> ports when set).
    /// </summary>
    public static IEndpointConventionBuilder MapRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var managementPorts = ManagementUrls.PortsOf(services.GetRequiredService<IOptions<RelayOptions>>().Value.ManagementUrls);
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath).OnlyOnPorts(managementPorts);
        endpoints.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = static _ => false }).OnlyOnPorts(managementPorts);
        endpoints.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = static check => check.Tags.Contains(ReadyTag) }).OnlyOnPorts(managementPorts);
        endpoints.MapRelayBff();
        // Stateful reconnect: a short transport drop is bridged by SignalR with nothing lost and no resync needed.
        return endpoints.MapHub<RelayHub>(RelayProtocol.HubPath, static options => options.AllowStatefulReconnects = true)
            .RefuseNewConnectionsWhileDraining(services.GetRequiredService<RelayDrainService>())
            .BindConnectionsToTheirIdentity(services.GetRequiredService<ConnectionIdentityGate>())
            .RequireCors(CorsPolicy)
            .RequireAuthorization(Microsoft.Extensions.DependencyInjection.AuthServiceCollectionExtensions.PolicyName);
    }
}
