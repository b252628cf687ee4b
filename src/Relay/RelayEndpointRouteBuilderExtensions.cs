using Relay.Client.Protocol;
using Relay.Hubs;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Relay's endpoints.</summary>
public static class RelayEndpointRouteBuilderExtensions
{
    /// <summary>The liveness endpoint: 200 while the process serves requests.</summary>
    public const string HealthPath = "/health";

    /// <summary>
    /// Maps the Relay hub at <see cref="RelayProtocol.HubPath"/>, open only to verified PocketBase users (and guests when
    /// allowed), and the health endpoint at <see cref="HealthPath"/>.
    /// </summary>
    public static IEndpointConventionBuilder MapRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks(HealthPath);
        return endpoints.MapHub<RelayHub>(RelayProtocol.HubPath)
            .RequireAuthorization(Microsoft.Extensions.DependencyInjection.AuthServiceCollectionExtensions.PolicyName);
    }
}
