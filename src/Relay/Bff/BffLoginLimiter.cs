using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Relay.ClientIp;

namespace Relay.Bff;

/// <summary>
/// Sign-in attempts per client address (a token bucket refilled evenly over a minute), so a password-guessing flood from
/// one address is answered 429 without reaching PocketBase. Addresses count as <see cref="ClientAddress.KeyOf"/> says,
/// like Relay's other per-client limits: an IPv6 client by its /64, or it could pick a fresh address per attempt.
/// </summary>
internal sealed class BffLoginLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _limiter;

    public BffLoginLimiter(IOptions<BffOptions> options)
    {
        var perMinute = options.Value.LoginAttemptsPerMinute;
        _limiter = PartitionedRateLimiter.Create<HttpContext, IPAddress>(context => RateLimitPartition.GetTokenBucketLimiter(
            ClientAddress.Of(context),
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
