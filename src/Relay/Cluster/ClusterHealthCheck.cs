using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Relay.Cluster;

/// <summary>
/// Cluster mode only: Redis unreachable is <see cref="HealthStatus.Degraded"/>, not unhealthy: the instance still serves
/// its connections (each session on a PocketBase stream of its own), so the load balancer keeps it.
/// </summary>
internal sealed class ClusterHealthCheck(ClusterNode node) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!node.Enabled)
        {
            return Task.FromResult(HealthCheckResult.Healthy("Cluster mode off (Relay:Redis:Configuration not set)."));
        }

        return Task.FromResult(node.IsConnected
            ? HealthCheckResult.Healthy($"Cluster mode: Redis reachable; this instance owns {node.OwnedCount} session streams.")
            : HealthCheckResult.Degraded("Cluster mode: Redis unreachable; every session runs its own PocketBase stream on this instance until it returns."));
    }
}
