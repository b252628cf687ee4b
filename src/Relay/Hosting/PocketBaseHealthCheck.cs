using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.PocketBase;

namespace Relay.Hosting;

/// <summary>Ready means PocketBase answers its health endpoint and Relay is not draining for shutdown.</summary>
internal sealed class PocketBaseHealthCheck(IHttpClientFactory httpClientFactory, RelayDrainService drain) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (drain.Draining)
        {
            return HealthCheckResult.Unhealthy("Relay is shutting down.");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var response = await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).GetAsync("api/health", timeout.Token);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy("PocketBase is reachable.")
                : HealthCheckResult.Unhealthy($"PocketBase answered /api/health with {(int)response.StatusCode}.");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("PocketBase is unreachable.", ex);
        }
    }
}
