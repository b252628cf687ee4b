using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Auth;
using Relay.ClientIp;
using Relay.Diagnostics;
using Relay.Routing;
using Relay.Sessions;
using Relay.Upstream;

namespace Relay.Hubs;

/// <summary>The SignalR edge: validates what a client asks for and hands it to the caller's session. Pushes never go through here.</summary>
internal sealed class RelayHub(
    TopicSubscriptionFactory requests,
    IOptions<RelayOptions> relayOptions,
    IOptions<PocketBaseOptions> pocketBaseOptions,
    TokenVerifier verifier,
    GuestLimiter guestLimiter,
    IOptions<GuestLimitOptions> guestLimits,
    RelayMetrics metrics) : Hub<IRelayClient>, IRelayHub
{
    private static readonly object GuestLeaseKey = new();

    // Offsets Relay sends are far shorter (an epoch and a sequence, or a Redis Stream id); a longer one is not ours.
    private const int MaxOffsetLength = 128;

    public override Task OnConnectedAsync()
    {
        var session = RelayHubLifetimeManager.GetConnection(Context).Session;
        var max = relayOptions.Value.MaxConnectionsPerUser;
        if (!session.Key.IsGuest && session.ConnectionCount > max)
        {
            throw new RelayHubException(RelayErrorCodes.TooManyConnections, $"this user already has {max} connections (Relay:MaxConnectionsPerUser)");
        }

        if (session.Key.IsGuest)
        {
            // Connections without a token are bounded per client address, as users are per user. Taken last, so a
            // refusal above never holds a slot; released in OnDisconnectedAsync, which runs whenever this succeeded.
            var lease = guestLimiter.AdmitConnection(ClientAddress.Of(Context));
            if (!lease.IsAcquired)
            {
                lease.Dispose();
                throw new RelayHubException(
                    RelayErrorCodes.TooManyConnections,
                    $"this address already has {guestLimits.Value.MaxConnectionsPerIp} connections without a token (Relay:GuestLimits:MaxConnectionsPerIp)");
            }

            Context.Items[GuestLeaseKey] = lease;
        }

        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.Remove(GuestLeaseKey, out var lease))
        {
            ((IDisposable)lease!).Dispose();
        }

        return Task.CompletedTask;
    }

    public Task Subscribe(string topic, SubscriptionOptions? options) => SubscribeAsync(topic, options, since: null);

    private Task<SubscribeOutcome> SubscribeAsync(string topic, SubscriptionOptions? options, string? since)
    {
        var request = CreateRequest(topic, options, since);
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        EnsureGuestMayAddTopic(connection.Session, request.UpstreamTopic);
        return connection.Session.SubscribeAsync(
            connection,
            request,
            since,
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

        // Filters are checked with PocketBase first, all at once; then each entry is applied (validation, routing, the
        // per-connection limit, its replay) in request order, so a later entry for the same topic wins as documented; the
        // waits for PocketBase then overlap, so a page mount costs one coalesced POST, not one per topic.
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        var session = connection.Session;
        var checks = new Task<TopicSubscription>[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            checks[i] = requests[i] is { } request
                ? CheckOneAsync(request.Topic, request.Options, request.Since)
                : Task.FromException<TopicSubscription>(new RelayHubException(RelayErrorCodes.InvalidRequest, "the entry is null"));
        }

        await ((Task)Task.WhenAll(checks)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var pending = new Task<SubscribeOutcome>[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            pending[i] = checks[i].IsCompletedSuccessfully
                ? ApplyOneAsync(checks[i].Result, requests[i].Since)
                : RethrowAsync(checks[i]);
        }

        var results = new SubscribeResult[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var topic = requests[i]?.Topic ?? string.Empty;
            try
            {
                var outcome = await pending[i];
                results[i] = new SubscribeResult { Topic = topic, Recovered = outcome.Recovered, Offset = outcome.Offset };
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

        async Task<TopicSubscription> CheckOneAsync(string? topic, SubscriptionOptions? options, string? since)
        {
            // An async method: a validation error fails this entry's task, not the whole call.
            var request = CreateRequest(topic!, options, since);
            await session.CheckFilterAsync(request, Context.ConnectionAborted);
            await session.PrepareRecoveryAsync(since, Context.ConnectionAborted);
            return request;
        }

        static async Task<SubscribeOutcome> RethrowAsync(Task<TopicSubscription> failedCheck)
        {
            await failedCheck;
            throw new UnreachableException("Only called for a check that failed.");
        }

        Task<SubscribeOutcome> ApplyOneAsync(TopicSubscription request, string? since)
        {
            try
            {
                EnsureGuestMayAddTopic(session, request.UpstreamTopic);
            }
            catch (RelayHubException ex)
            {
                return Task.FromException<SubscribeOutcome>(ex);
            }

            return session.SubscribeCheckedAsync(
                connection,
                request,
                since,
                relayOptions.Value.MaxSubscriptionsPerConnection,
                pocketBaseOptions.Value.SubscribeTimeout,
                Context.ConnectionAborted);
        }
    }

    private TopicSubscription CreateRequest(string topic, SubscriptionOptions? options, string? since)
    {
        var request = requests.Create(topic, options);
        if (since is { Length: > MaxOffsetLength })
        {
            throw new RelayHubException(RelayErrorCodes.InvalidRequest, $"since is longer than {MaxOffsetLength} characters; pass an offset Relay sent");
        }

        return request;
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
            // Never from the cache: a token revoked since its last verdict (password changed) must not be taken again.
            verdict = await verifier.VerifyUncachedAsync(token, ClientAddress.Of(Context), Context.ConnectionAborted);
        }
        catch (UpstreamException)
        {
            throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, "PocketBase could not be reached to verify the token; retry later");
        }
        catch (VerificationRateLimitedException ex)
        {
            throw new RelayHubException(RelayErrorCodes.RateLimited, $"too many refused tokens from this address; retry in {Math.Ceiling(ex.RetryAfter.TotalSeconds):0} s");
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

    /// <summary>
    /// Guests share one session and its PocketBase topic budget: a topic no guest holds yet costs one of the client
    /// address's new-topic tokens, so no address can fill the budget for everyone. Joining a held topic is free.
    /// </summary>
    private void EnsureGuestMayAddTopic(UserSession session, string upstreamTopic)
    {
        if (session.Key.IsGuest && !session.HoldsTopic(upstreamTopic) && !guestLimiter.TryAddTopic(ClientAddress.Of(Context), out var retryAfter))
        {
            throw new RelayHubException(
                RelayErrorCodes.RateLimited,
                $"this address added {guestLimits.Value.NewTopicsPerIpPerMinute} new guest topics in the last minute (Relay:GuestLimits:NewTopicsPerIpPerMinute); retry in {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds)):0} s");
        }
    }
}
