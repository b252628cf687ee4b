using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Relay.Diagnostics;

namespace Relay.Upstream;

/// <summary>
/// The Polly pipeline every session uses around connect-and-subscribe. Retries never give up while the session lives,
/// with exponential backoff and jitter so thousands of sessions do not reconnect in step. The circuit breaker is shared
/// by all sessions: once most attempts fail, further attempts fail fast instead of hammering a dead PocketBase.
/// </summary>
internal sealed class UpstreamConnectPipeline
{
    public UpstreamConnectPipeline(IOptions<PocketBaseOptions> options, TimeProvider timeProvider, RelayMetrics metrics)
    {
        var settings = options.Value;
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
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
                MinimumThroughput = 20,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
            })
            .Build();
    }

    /// <summary>A per-execution callback told about every failed attempt and the delay before the next one.</summary>
    public static readonly ResiliencePropertyKey<Func<Exception, TimeSpan, ValueTask>> FailureCallbackKey = new("relay.upstream.failure");

    public ResiliencePipeline Pipeline { get; }

    private static bool ShouldRetry(Exception? exception, CancellationToken stopping)
        => exception is not null && !stopping.IsCancellationRequested;
}
