using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Sessions;

namespace Relay.Hosting;

/// <summary>
/// Graceful shutdown (SIGTERM): readiness turns unhealthy so the load balancer stops sending, every client is told to
/// reconnect (a SignalR close message that allows reconnect, so it lands on another instance), and only then does
/// the host stop; the PocketBase streams close when the sessions are disposed.
/// </summary>
internal sealed partial class RelayDrainService(SessionManager sessions, ILogger<RelayDrainService> logger) : IHostedLifecycleService
{
    private static readonly CloseMessage ReconnectElsewhere = new("Relay is shutting down; reconnect.", allowReconnect: true);
    private volatile bool _draining;

    public bool Draining => _draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var connections = sessions.AllConnections();
        Log.Draining(logger, connections.Count);
        await Task.WhenAll(connections.Select(connection => connection.CloseAsync(ReconnectElsewhere)))
            .WaitAsync(TimeSpan.FromSeconds(5), cancellationToken)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Information, "Shutting down: telling {Count} connections to reconnect elsewhere.")]
        public static partial void Draining(ILogger logger, int count);
    }
}
