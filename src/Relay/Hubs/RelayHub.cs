using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Auth;
using Relay.Diagnostics;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Hubs;

/// <summary>The SignalR edge: validates what a client asks for and hands it to the caller's session. Pushes never go through here.</summary>
internal sealed partial class RelayHub(
    TopicSubscriptionFactory requests,
    IOptions<RelayOptions> relayOptions,
    IOptions<PocketBaseOptions> pocketBaseOptions,
    TokenVerifier verifier,
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

    public async Task Reauthenticate(string token)
    {
        try
        {
            var connection = RelayHubLifetimeManager.GetConnection(Context);
            var session = connection.Session;
            if (session.Key.IsGuest)
            {
                throw new RelayHubException(RelayErrorCodes.TokenUserMismatch, "a guest connection cannot become a user; connect again with the token");
            }

            if (string.IsNullOrWhiteSpace(token))
            {
                throw new RelayHubException(RelayErrorCodes.InvalidToken, "the token is empty");
            }

            TokenVerdict verdict;
            try
            {
                verdict = await verifier.VerifyAsync(token, Context.ConnectionAborted);
            }
            catch (UpstreamException)
            {
                throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, "PocketBase could not be reached to verify the token; retry later");
            }

            if (verdict.Token is not { } verified)
            {
                throw new RelayHubException(RelayErrorCodes.InvalidToken, $"PocketBase does not accept the token ({verdict.Reason})");
            }

            if (verified.CollectionId != session.Key.CollectionId || verified.RecordId != session.Key.RecordId)
            {
                throw new RelayHubException(RelayErrorCodes.TokenUserMismatch, "the token belongs to another user; connect again to switch users");
            }

            session.UseToken(verified.Token, verified.ExpiresAt);
        }
        catch (RelayHubException ex)
        {
            metrics.HubError(ex.Code);
            Log.Refused(logger, nameof(Reauthenticate), Context.ConnectionId, ex.Code);
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Debug, "Refused {Method} from connection {ConnectionId}: {Code}.")]
        public static partial void Refused(ILogger logger, string method, string connectionId, string code);
    }
}
