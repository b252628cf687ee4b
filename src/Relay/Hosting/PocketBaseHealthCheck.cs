using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.PocketBase;

namespace Relay.Hosting;

/// <summary>Ready means PocketBase answers its health endpoint and Relay is not draining for shutdown.</summary>
internal sealed class PocketBaseHealthCheck(PocketBaseHealthClient pocketBase, RelayDrainService drain) : IHealthCheck
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
            var status = (int)await pocketBase.GetStatusAsync(timeout.Token);
            return status is >= 200 and <= 299
                ? HealthCheckResult.Healthy("PocketBase is reachable.")
                : HealthCheckResult.Unhealthy($"PocketBase answered /api/health with {status}.");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("PocketBase is unreachable.", ex);
        }
    }
}
