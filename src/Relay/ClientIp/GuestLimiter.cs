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
    private readonly AddressTokenBucket _newTopics;

    public GuestLimiter(IOptions<GuestLimitOptions> options)
    {
        var connections = new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnectionsPerIp, QueueLimit = 0 };
        _connections = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetConcurrencyLimiter(address, _ => connections));
        _newTopics = new AddressTokenBucket(options.Value.NewTopicsPerIpPerMinute);
    }

    /// <summary>Takes one of <paramref name="address"/>'s guest connection slots; the caller disposes the lease when the connection ends.</summary>
    public RateLimitLease AdmitConnection(IPAddress address) => _connections.AttemptAcquire(address);

    /// <summary>Takes one of <paramref name="address"/>'s new-topic tokens; false with the wait until the next one when none is left.</summary>
    public bool TryAddTopic(IPAddress address, out TimeSpan retryAfter) => _newTopics.TryTake(address, out retryAfter);

    public void Dispose()
    {
        _connections.Dispose();
        _newTopics.Dispose();
    }
}
