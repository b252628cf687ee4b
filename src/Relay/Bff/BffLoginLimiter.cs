using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Relay.Bff;

/// <summary>
/// Sign-in attempts per client IP (a token bucket refilled evenly over a minute), so a password-guessing flood from one
/// address is answered 429 without reaching PocketBase.
/// </summary>
internal sealed class BffLoginLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _limiter;

    public BffLoginLimiter(IOptions<BffOptions> options)
    {
        var perMinute = options.Value.LoginAttemptsPerMinute;
        _limiter = PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimitPartition.GetTokenBucketLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerMinute / perMinute),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public bool TryAcquire(HttpContext context)
    {
        using var lease = _limiter.AttemptAcquire(context);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
