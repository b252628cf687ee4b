using Microsoft.AspNetCore.SignalR.Client;

namespace Relay.Client;

/// <summary>
/// Reconnects forever: exponential backoff from a base delay up to a maximum, with "equal jitter" (half fixed, half
/// random) so that thousands of clients dropped at once by a Relay restart do not come back in lockstep.
/// </summary>
internal sealed class JitteredRetryPolicy(TimeSpan baseDelay, TimeSpan maxDelay, Func<double>? random = null) : IRetryPolicy
{
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;

    public TimeSpan? NextRetryDelay(RetryContext retryContext)
    {
        var exponent = Math.Min(retryContext.PreviousRetryCount, 30);
        var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (_random() * ceiling / 2));
    }
}
