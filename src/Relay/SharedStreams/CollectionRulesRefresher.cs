using Microsoft.Extensions.Options;

namespace Relay.SharedStreams;

/// <summary>Reads the collection rules when Relay starts and every <see cref="SharedStreamsOptions.RulesRefreshInterval"/> after.</summary>
internal sealed class CollectionRulesRefresher(
    CollectionRules rules,
    IOptions<SharedStreamsOptions> options,
    IOptions<Relay.Redis.RedisOptions> redisOptions,
    TimeProvider timeProvider,
    ILogger<CollectionRules> logger) : BackgroundService
{
    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Enabled && !rules.CanRead)
        {
            CollectionRules.Log.NoCredentials(logger);
        }

        if (options.Value.Enabled && redisOptions.Value.IsConfigured)
        {
            CollectionRules.Log.ClusterMode(logger);
        }

        // Created before the loop runs, so the first interval counts from start and a tick before the loop awaits is not lost.
        if (rules.CanRead)
        {
            _timer = new PeriodicTimer(options.Value.RulesRefreshInterval, timeProvider);
        }

        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_timer is null)
        {
            return;
        }

        try
        {
            do
            {
                await rules.ReadOnceAsync(stoppingToken);
            }
            while (await _timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
