namespace Relay.Diagnostics;

/// <summary>
/// <c>Relay:ManagementUrls</c>: extra addresses Kestrel listens on that alone serve <c>/metrics</c> and <c>/health/*</c>,
/// so a production deployment exposes the hub publicly and keeps scraping and probes on an internal port.
/// </summary>
internal static class ManagementUrls
{
    public const string Key = "Relay:ManagementUrls";

    /// <summary>Adds the management URLs to the ones Kestrel would listen on anyway (<c>urls</c>, <c>http_ports</c>, or its default).</summary>
    public static void AddManagementUrls(this WebApplicationBuilder builder)
    {
        var management = builder.Configuration.GetSection(Key).Get<string[]>() ?? [];
        if (management.Length == 0)
        {
            return;
        }

        var configured = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var ports = builder.Configuration[WebHostDefaults.HttpPortsKey];
        IEnumerable<string> main = !string.IsNullOrWhiteSpace(configured)
            ? configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : !string.IsNullOrWhiteSpace(ports)
                ? ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(static port => $"http://*:{port}")
                : ["http://localhost:5000"];
        builder.WebHost.UseUrls([.. main, .. management]);
    }

    /// <summary>The local ports of <paramref name="urls"/>; requests that arrived on any other port are not management requests.</summary>
    public static int[] PortsOf(IEnumerable<string> urls) => [.. urls.Select(static url => BindingAddress.Parse(url).Port).Distinct()];

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
