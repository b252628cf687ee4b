using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Relay.Client.DependencyInjection;

/// <summary>
/// Connects the app's <see cref="RelayClient"/> when the host starts, in the background: the app does not wait for
/// Relay (subscriptions made meanwhile wait for the connection), and <see cref="RelayClient.StartAsync"/> retries until Relay answers.
/// </summary>
internal sealed partial class RelayClientHostedService(RelayClient client, IOptions<RelayClientOptions> options, ILogger<RelayClientHostedService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.StartWithHost)
        {
            return;
        }

        try
        {
            await client.StartAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped before Relay answered.
        }
        catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // Not retried: the token will not pass. The app starts the client again once it has a new token.
            Log.TokenRefused(logger, (int)ex.StatusCode!, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Relay refused the token ({Status}); the client stays disconnected until the app calls StartAsync with a valid token.")]
        public static partial void TokenRefused(ILogger logger, int status, Exception exception);
    }
}
