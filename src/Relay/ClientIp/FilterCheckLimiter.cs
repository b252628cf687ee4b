using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Relay.ClientIp;

/// <summary>
/// Bounds the PocketBase list requests that check subscription filters: a token bucket per client address, charged
/// before any work is done for the subscription, and a concurrency limit over all of them, held around the request.
/// </summary>
internal sealed class FilterCheckLimiter : IDisposable
{
    private readonly AddressTokenBucket _perAddress;
    private readonly ConcurrencyLimiter _inFlight;

    public FilterCheckLimiter(IOptions<FilterCheckOptions> options)
    {
        _perAddress = new AddressTokenBucket(options.Value.PerIpPerMinute);
        _inFlight = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.MaxConcurrent,
            QueueLimit = options.Value.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Takes one of <paramref name="address"/>'s filter checks; false with the wait until the next one when none is left.</summary>
    public bool TryCharge(IPAddress address, out TimeSpan retryAfter) => _perAddress.TryTake(address, out retryAfter);

    /// <summary>Waits for a slot to make one check in; the lease is not acquired when the queue is full. Dispose it after the check.</summary>
    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) => _inFlight.AcquireAsync(1, cancellationToken);

    public void Dispose()
    {
        _perAddress.Dispose();
        _inFlight.Dispose();
    }
}
