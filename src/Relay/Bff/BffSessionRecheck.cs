using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// Every <see cref="BffOptions.SessionRecheckInterval"/>, asks the session store about every session that has hub
/// connections on this instance and closes those whose session has ended: a sign-out's Redis announcement is
/// fire-and-forget, and an instance that missed it would otherwise keep the socket open for the session's lifetime.
/// </summary>
internal sealed partial class BffSessionRecheck(
    BffHubConnections hubConnections,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    ILogger<BffSessionRecheck> logger) : BackgroundService
{
    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Created before the loop runs (BackgroundService starts ExecuteAsync on the thread pool), so the first interval
        // counts from start: a tick that comes before the loop awaits it is not lost.
        if (options.Value.Enabled)
        {
            _timer = new PeriodicTimer(options.Value.SessionRecheckInterval, timeProvider);
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
            while (await _timer.WaitForNextTickAsync(stoppingToken))
            {
                await RecheckOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass; the store being unreachable is logged and closes nothing (the next pass tries again).</summary>
    internal async Task<int> RecheckOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var closed = await hubConnections.RecheckAsync(cancellationToken);
            if (closed > 0)
            {
                Log.Closed(logger, closed);
            }

            return closed;
        }
        catch (UpstreamException ex)
        {
            Log.StoreUnavailable(logger, ex);
            return 0;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7070, LogLevel.Information, "Closed {Connections} hub connection(s) whose BFF session had ended without this instance being told.")]
        public static partial void Closed(ILogger logger, int connections);

        [LoggerMessage(7071, LogLevel.Warning, "The BFF session store could not be reached to re-check the sessions of open hub connections.")]
        public static partial void StoreUnavailable(ILogger logger, Exception exception);
    }
}
