using Relay.Client.Protocol;
using Relay.Hubs;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Relay's endpoints.</summary>
public static class RelayEndpointRouteBuilderExtensions
{
    /// <summary>Maps the Relay hub at <see cref="RelayProtocol.HubPath"/>, open only to verified PocketBase users (and guests when allowed).</summary>
    public static IEndpointConventionBuilder MapRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapHub<RelayHub>(RelayProtocol.HubPath)
            .RequireAuthorization(Microsoft.Extensions.DependencyInjection.AuthServiceCollectionExtensions.PolicyName);
    }
}
