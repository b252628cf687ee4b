using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Relay.ClientIp;

namespace Relay.Bff;

/// <summary>
/// The <c>/api/*</c> proxy's own limit per client address (<c>Relay:Bff:ApiRequestsPerMinute</c>, a token bucket refilled
/// evenly over a minute), counted by the address Relay computes (<see cref="ClientAddress"/>: trusted forwarded headers
/// only, IPv6 by /64). PocketBase's own limiter stays on and counts the same address (Relay sends it as
/// <c>X-Forwarded-For</c>); this one answers a flood before it costs PocketBase a request. Beyond it: 429
/// <c>rate_limited</c> with <c>Retry-After</c>.
/// </summary>
internal static class BffApiRateLimit
{
    public const string PolicyName = "RelayBffApi";

    public const string ErrorCode = "rate_limited";

    public static void Configure(RateLimiterOptions options)
    {
        options.AddPolicy(PolicyName, static context =>
        {
            var perMinute = context.RequestServices.GetRequiredService<IOptions<BffOptions>>().Value.ApiRequestsPerMinute;
            return RateLimitPartition.GetTokenBucketLimiter(ClientAddress.Of(context), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerMinute / perMinute),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
        options.OnRejected = static (rejected, _) =>
        {
            var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var error = new BffError(ErrorCode, $"too many requests from this address (Relay:Bff:ApiRequestsPerMinute); retry in {seconds} s");
            return new ValueTask(error.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests));
        };
    }
}
