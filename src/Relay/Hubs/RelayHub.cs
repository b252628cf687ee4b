using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Auth;
using Relay.Diagnostics;
using Relay.Routing;
using Relay.Upstream;

namespace Relay.Hubs;

/// <summary>The SignalR edge: validates what a client asks for and hands it to the caller's session. Pushes never go through here.</summary>
internal sealed class RelayHub(
    TopicSubscriptionFactory requests,
    IOptions<RelayOptions> relayOptions,
    IOptions<PocketBaseOptions> pocketBaseOptions,
    TokenVerifier verifier,
    RelayMetrics metrics) : Hub<IRelayClient>, IRelayHub
{
    public override Task OnConnectedAsync()
    {
        var session = RelayHubLifetimeManager.GetConnection(Context).Session;
        var max = relayOptions.Value.MaxConnectionsPerUser;
        if (!session.Key.IsGuest && session.ConnectionCount > max)
        {
            throw new RelayHubException(RelayErrorCodes.TooManyConnections, $"this user already has {max} connections (Relay:MaxConnectionsPerUser)");
        }

        return Task.CompletedTask;
    }

    public Task Subscribe(string topic, SubscriptionOptions? options)
    {
        var request = requests.Create(topic, options);
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        return connection.Session.SubscribeAsync(
            connection,
            request,
            relayOptions.Value.MaxSubscriptionsPerConnection,
            pocketBaseOptions.Value.SubscribeTimeout,
            Context.ConnectionAborted);
    }

    public async Task<SubscribeResult[]> SubscribeMany(SubscribeRequest[] requests)
    {
        var max = relayOptions.Value.MaxSubscriptionsPerConnection;
        if (requests is null || requests.Length > max)
        {
            throw new RelayHubException(RelayErrorCodes.InvalidRequest, $"SubscribeMany takes a list of 0-{max} entries (Relay:MaxSubscriptionsPerConnection)");
        }

        // Each entry's synchronous part (validation, routing, the per-connection limit) runs in request order before the
        // first await; the waits for PocketBase then overlap, so a page mount costs one coalesced POST, not one per topic.
        var pending = new Task[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            pending[i] = requests[i] is { } request
                ? SubscribeOneAsync(request.Topic, request.Options)
                : Task.FromException(new RelayHubException(RelayErrorCodes.InvalidRequest, "the entry is null"));
        }

        var results = new SubscribeResult[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var topic = requests[i]?.Topic ?? string.Empty;
            try
            {
                await pending[i];
                results[i] = new SubscribeResult { Topic = topic };
            }
            catch (RelayHubException ex)
            {
                metrics.HubError(ex.Code);
                results[i] = new SubscribeResult { Topic = topic, Error = ex.Code, Message = ex.Message };
            }
            catch (SubscriptionException ex)
            {
                metrics.HubError(ex.Code);
                results[i] = new SubscribeResult { Topic = topic, Error = ex.Code, Message = $"{ex.Code}: {ex.Message}" };
            }
        }

        return results;

        async Task SubscribeOneAsync(string? topic, SubscriptionOptions? options)
        {
            await Subscribe(topic!, options);
        }
    }

    public Task Unsubscribe(string topic)
    {
        if (!RelayTopic.TryParse(topic, out _, out var error))
        {
            throw new RelayHubException(RelayErrorCodes.InvalidTopic, error);
        }

        var connection = RelayHubLifetimeManager.GetConnection(Context);
        connection.Session.Unsubscribe(connection, topic);
        return Task.CompletedTask;
    }

    public async Task Reauthenticate(string token)
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
}
