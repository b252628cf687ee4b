namespace Relay.Hosting;

/// <summary>Restricts endpoints to the <c>Relay:ManagementUrls</c> ports.</summary>
internal static class ManagementEndpoints
{
    /// <summary>
    /// Serves <paramref name="endpoints"/> only to requests that arrived on one of <paramref name="ports"/>; others get 404.
    /// Checks the port the connection was accepted on, not the <c>Host</c> header a client can write freely.
    /// </summary>
    public static TBuilder OnlyOnPorts<TBuilder>(this TBuilder endpoints, int[] ports)
        where TBuilder : IEndpointConventionBuilder
    {
        if (ports.Length > 0)
        {
            endpoints.Add(endpoint =>
            {
                var next = endpoint.RequestDelegate!;
                endpoint.RequestDelegate = context =>
                {
                    if (Array.IndexOf(ports, context.Connection.LocalPort) >= 0)
                    {
                        return next(context);
                    }

                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                };
            });
        }

        return endpoints;
    }
}
