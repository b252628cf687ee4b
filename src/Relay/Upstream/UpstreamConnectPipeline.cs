using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Upstream;

/// <summary>
/// Builds the Polly pipeline each session uses around connect-and-subscribe. Retries never give up while the session
/// lives, with exponential backoff and jitter so thousands of sessions do not reconnect in step. Every session gets its
/// own circuit breaker: a session whose connects keep failing (a refused token, a bad topic) backs off without delaying
/// any other session's connect.
/// </summary>
internal sealed class UpstreamConnectPipeline(IOptions<PocketBaseOptions> options, TimeProvider timeProvider, RelayMetrics metrics)
{
    /// <summary>A new pipeline, with a circuit breaker of its own, for one session's stream.</summary>
    public ResiliencePipeline Create()
    {
        var settings = options.Value;
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Outcome.Exception, args.Context.CancellationToken)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.ReconnectBaseDelay,
                MaxDelay = settings.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    metrics.UpstreamConnectFailed();
                    return args.Context.Properties.TryGetValue(FailureCallbackKey, out var callback)
                        ? callback(args.Outcome.Exception!, args.RetryDelay)
                        : default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Outcome.Exception, args.Context.CancellationToken)),
                FailureRatio = 0.8,
                // Per session, so a handful of attempts is already a pattern (the retry's backoff spaces them out).
                MinimumThroughput = 5,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(2),
            })
            .Build();
    }

    /// <summary>A per-execution callback told about every failed attempt and the delay before the next one.</summary>
    public static readonly ResiliencePropertyKey<Func<Exception, TimeSpan, ValueTask>> FailureCallbackKey = new("relay.upstream.failure");

    private static bool ShouldRetry(Exception? exception, CancellationToken stopping)
        => exception is not null && !stopping.IsCancellationRequested;
}
