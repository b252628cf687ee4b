using System.Net;
using System.Threading.RateLimiting;

namespace Relay.ClientIp;

/// <summary>
/// A token bucket per client address, refilled evenly over a minute: the one shape of Relay's per-address budgets
/// (guests' new topics, filter checks, sign-ins). Partitions of addresses that went quiet are dropped by the partitioned
/// limiter, so memory follows the addresses currently active.
/// </summary>
internal sealed class AddressTokenBucket : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _limiter;

    public AddressTokenBucket(int perMinute)
    {
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
            // A partitioned limiter replenishes every partition from its own single timer (it turns this off anyway).
            AutoReplenishment = false,
            QueueLimit = 0,
        };
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => bucket));
    }

    /// <summary>Takes one of <paramref name="address"/>'s tokens; false with the wait until the next one when none is left.</summary>
    public bool TryTake(IPAddress address, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(address);
        retryAfter = !lease.IsAcquired && lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.Zero;
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
