using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Relay.Auth;

/// <summary>
/// Keeps token verification from being turned against PocketBase: one global bound on <c>auth-refresh</c> calls in
/// flight, and per client address a budget of refused tokens after which that address's tokens are refused without a
/// call. Refusals cost budget only once PocketBase has actually refused, so users behind a shared address who present
/// valid tokens are never counted against each other.
/// </summary>
internal sealed class VerificationThrottle : IDisposable
{
    private readonly ConcurrencyLimiter _calls;
    private readonly PartitionedRateLimiter<IPAddress> _failures;
    private readonly AuthOptions _options;
    private readonly TimeProvider _timeProvider;

    public VerificationThrottle(IOptions<AuthOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _calls = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _options.MaxConcurrentVerifications,
            QueueLimit = _options.VerificationQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        var burst = _options.MaxFailedVerificationsPerIp;
        var period = _options.FailedVerificationWindow / burst;
        _failures = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(
            address,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = period,
                // A partitioned limiter replenishes every partition from its own single timer (it turns this off anyway).
                AutoReplenishment = false,
                QueueLimit = 0,
            }));
    }

    /// <exception cref="VerificationRateLimitedException"><paramref name="address"/> has used up its refused tokens.</exception>
    public void EnsureFailureBudget(IPAddress address)
    {
        // Whole tokens only: the bucket refills continuously, and a zero-permit probe would pass on a fraction of one.
        if (_failures.GetStatistics(address) is { CurrentAvailablePermits: < 1 })
        {
            using var lease = _failures.AttemptAcquire(address);
            throw new VerificationRateLimitedException(lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero
                ? wait
                : _options.FailedVerificationWindow / _options.MaxFailedVerificationsPerIp);
        }
    }

    public void RecordFailure(IPAddress address)
    {
        using var lease = _failures.AttemptAcquire(address);
    }

    /// <summary>Waits up to <paramref name="wait"/> for a free call slot; the caller disposes the lease after the call.</summary>
    /// <exception cref="UpstreamException">No slot came free in time (answered as 503, like PocketBase being unreachable).</exception>
    public async ValueTask<RateLimitLease> AcquireCallAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var lease = _calls.AttemptAcquire();
        if (!lease.IsAcquired && wait > TimeSpan.Zero)
        {
            lease.Dispose();
            using var timeout = new CancellationTokenSource(wait, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            try
            {
                lease = await _calls.AcquireAsync(1, linked.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw Busy();
            }
        }

        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw Busy();
        }

        return lease;
    }

    public void Dispose()
    {
        _calls.Dispose();
        _failures.Dispose();
    }

    private UpstreamException Busy() => new(
        $"{_options.MaxConcurrentVerifications} token verifications are already in flight (Relay:Auth:MaxConcurrentVerifications).",
        HttpStatusCode.ServiceUnavailable);
}
