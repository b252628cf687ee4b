using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Relay.Hosting;

/// <summary>
/// <c>Relay:ManagementUrls</c>: extra addresses Kestrel listens on that alone serve <c>/metrics</c> and <c>/health/*</c>,
/// so a production deployment exposes the hub publicly and keeps scraping and probes on an internal port.
/// </summary>
/// <remarks>
/// Added to the server's addresses before the host starts the server, together with the addresses it would have used
/// anyway (<c>urls</c>, then <c>http_ports</c>/<c>https_ports</c>, then Kestrel's default): the web host reads those
/// settings only when no address has been set. Endpoints configured under <c>Kestrel:Endpoints</c> replace all of them.
/// </remarks>
internal sealed class ManagementUrls(IServer server, IConfiguration configuration, IOptions<RelayOptions> options) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var management = options.Value.ManagementUrls;
        if (management.Length == 0 || server.Features.Get<IServerAddressesFeature>() is not { Addresses: { IsReadOnly: false } addresses })
        {
            return Task.CompletedTask;
        }

        if (addresses.Count == 0)
        {
            foreach (var url in MainUrls())
            {
                addresses.Add(url);
            }
        }

        foreach (var url in management)
        {
            addresses.Add(url);
        }

        return Task.CompletedTask;
    }

    /// <summary>The local ports of <paramref name="urls"/>; requests that arrived on any other port are not management requests.</summary>
    public static int[] PortsOf(IEnumerable<string> urls) => [.. urls.Select(static url => BindingAddress.Parse(url).Port).Distinct()];

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private IEnumerable<string> MainUrls()
    {
        static string[] Split(string? value) => value?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

        var urls = Split(configuration[WebHostDefaults.ServerUrlsKey]);
        if (urls.Length > 0)
        {
            return urls;
        }

        IEnumerable<string> ports = [
            .. Split(configuration[WebHostDefaults.HttpPortsKey]).Select(static port => $"http://*:{port}"),
            .. Split(configuration[WebHostDefaults.HttpsPortsKey]).Select(static port => $"https://*:{port}")];
        return ports.Any() ? ports : ["http://localhost:5000"];
    }
}
