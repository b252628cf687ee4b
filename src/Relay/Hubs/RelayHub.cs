using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Hubs;

/// <summary>The SignalR edge: validates what a client asks for and hands it to the caller's session. Pushes never go through here.</summary>
internal sealed partial class RelayHub(
    TopicSubscriptionFactory requests,
    IOptions<RelayOptions> relayOptions,
    IOptions<PocketBaseOptions> pocketBaseOptions,
    RelayMetrics metrics,
    ILogger<RelayHub> logger) : Hub<IRelayClient>, IRelayHub
{
    public async Task Subscribe(string topic, SubscriptionOptions? options)
    {
        try
        {
            var request = requests.Create(topic, options);
            var connection = RelayHubLifetimeManager.GetConnection(Context);
            await connection.Session.SubscribeAsync(
                connection,
                request,
                relayOptions.Value.MaxSubscriptionsPerConnection,
                pocketBaseOptions.Value.SubscribeTimeout,
                Context.ConnectionAborted);
        }
        catch (RelayHubException ex)
        {
            metrics.HubError(ex.Code);
            Log.Refused(logger, nameof(Subscribe), Context.ConnectionId, ex.Code);
            throw;
        }
    }

    public Task Unsubscribe(string topic)
    {
        if (!RelayTopic.TryParse(topic, out _, out var error))
        {
            metrics.HubError(RelayErrorCodes.InvalidTopic);
            Log.Refused(logger, nameof(Unsubscribe), Context.ConnectionId, RelayErrorCodes.InvalidTopic);
            throw new RelayHubException(RelayErrorCodes.InvalidTopic, error);
        }

        var connection = RelayHubLifetimeManager.GetConnection(Context);
        connection.Session.Unsubscribe(connection, topic);
        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Debug, "Refused {Method} from connection {ConnectionId}: {Code}.")]
        public static partial void Refused(ILogger logger, string method, string connectionId, string code);
    }
}
