using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Relay.ClientIp;

/// <summary>
/// Per client address: how many guest connections are open, and how fast new topics are added to the shared guest
/// session. Partitions of addresses that went quiet are dropped by the partitioned limiter, so memory follows the
/// addresses currently active.
/// </summary>
internal sealed class GuestLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _connections;
    private readonly PartitionedRateLimiter<IPAddress> _newTopics;

    public GuestLimiter(IOptions<GuestLimitOptions> options)
    {
        var connections = new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnectionsPerIp, QueueLimit = 0 };
        var perMinute = options.Value.NewTopicsPerIpPerMinute;
        var newTopics = new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
            // A partitioned limiter replenishes every partition from its own single timer (it turns this off anyway).
            AutoReplenishment = false,
            QueueLimit = 0,
        };
        _connections = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetConcurrencyLimiter(address, _ => connections));
        _newTopics = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => newTopics));
    }

    /// <summary>Takes one of <paramref name="address"/>'s guest connection slots; the caller disposes the lease when the connection ends.</summary>
    public RateLimitLease AdmitConnection(IPAddress address) => _connections.AttemptAcquire(address);

    /// <summary>Takes one of <paramref name="address"/>'s new-topic tokens; false with the wait until the next one when none is left.</summary>
    public bool TryAddTopic(IPAddress address, out TimeSpan retryAfter)
    {
        using var lease = _newTopics.AttemptAcquire(address);
        retryAfter = !lease.IsAcquired && lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.Zero;
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        _connections.Dispose();
        _newTopics.Dispose();
    }
}
