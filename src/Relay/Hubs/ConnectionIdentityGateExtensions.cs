namespace Relay.Hubs;

internal static class ConnectionIdentityGateExtensions
{
    /// <summary>Puts <paramref name="gate"/> in front of every endpoint of the hub (negotiate and the transports).</summary>
    public static TBuilder BindConnectionsToTheirIdentity<TBuilder>(this TBuilder endpoints, ConnectionIdentityGate gate)
        where TBuilder : IEndpointConventionBuilder
    {
        endpoints.Add(endpoint =>
        {
            var next = endpoint.RequestDelegate!;
            endpoint.RequestDelegate = context => gate.InvokeAsync(context, next);
        });
        return endpoints;
    }
}
