namespace Relay.Hosting;

/// <summary>
/// While the instance drains for shutdown, new connections (a negotiate, or a connect without a connection id) are
/// answered 503 with <c>Retry-After</c>, so clients told to reconnect land on another instance instead of this one.
/// Requests of connections already open (they carry <c>id=</c>) pass until the connections are closed.
/// </summary>
internal static class DrainingGate
{
    private const string RetryAfterSeconds = "2";

    public static TBuilder RefuseNewConnectionsWhileDraining<TBuilder>(this TBuilder endpoints, RelayDrainService drain)
        where TBuilder : IEndpointConventionBuilder
    {
        endpoints.Add(endpoint =>
        {
            var next = endpoint.RequestDelegate!;
            endpoint.RequestDelegate = context =>
            {
                if (!drain.Draining || context.Request.Query.ContainsKey("id"))
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                return Task.CompletedTask;
            };
        });
        return endpoints;
    }
}
