using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Auth;
using Relay.ClientIp;
using Relay.Diagnostics;
using Relay.PocketBase;
using Relay.Routing;
using Relay.Sessions;
using Relay.SharedStreams;

namespace Relay.Hubs;

/// <summary>The SignalR edge: validates what a client asks for and hands it to the caller's session. Pushes never go through here.</summary>
internal sealed partial class RelayHub(
    TopicSubscriptionFactory requests,
    IOptions<HubLimitsOptions> limits,
    IOptions<PocketBaseOptions> pocketBaseOptions,
    TokenVerifier verifier,
    GuestLimiter guestLimiter,
    IOptions<GuestLimitOptions> guestLimits,
    FilterCheckLimiter filterChecks,
    TopicClaims claims,
    IOptions<FilterCheckOptions> filterCheckOptions,
    RelayMetrics metrics,
    ClassStreams classStreams) : Hub<IRelayClient>, IRelayHub
{
    private static readonly object GuestLeaseKey = new();

    // Offsets Relay sends are far shorter (an epoch and a sequence, or a Redis Stream id); a longer one is not ours.
    private const int MaxOffsetLength = 128;

    public override Task OnConnectedAsync()
    {
        var session = RelayHubLifetimeManager.GetSession(Context);
        var max = limits.Value.MaxConnectionsPerUser;
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

    private async Task<SubscribeOutcome> SubscribeAsync(string topic, SubscriptionOptions? options, string? since)
    {
        var request = CreateRequest(topic, options, since);
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        var member = RelayHubLifetimeManager.GetSession(Context);
        // A shared topic is held on its class's stream (issue #22), every other on the user's own.
        var session = await classStreams.RouteAsync(member, connection, request, options, Context.ConnectionAborted);
        Task<SubscribeOutcome> applied;
        using (var claim = Claim(session, request))
        {
            await CheckFilterAsync(session, request, claim);
            await session.PrepareRecoveryAsync(since, Context.ConnectionAborted);
            // Applied (routed) before this returns; the claim may go, the wait for PocketBase below needs none.
            applied = session.SubscribeCheckedAsync(
                connection,
                request,
                since,
                classStreams.RemainingFor(connection, member, session, limits.Value.MaxSubscriptionsPerConnection),
                pocketBaseOptions.Value.SubscribeTimeout,
                Context.ConnectionAborted);
        }

        return await applied;
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

    public async Task Unsubscribe(string topic)
    {
        if (!RelayTopic.TryParse(topic, out _, out var error))
        {
            throw new RelayHubException(RelayErrorCodes.InvalidTopic, error);
        }

        var connection = RelayHubLifetimeManager.GetConnection(Context);
        RelayHubLifetimeManager.GetSession(Context).Unsubscribe(connection, topic);
        await classStreams.UnsubscribeAsync(connection, topic);
    }

    public async Task Reauthenticate(string token)
    {
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        var session = RelayHubLifetimeManager.GetSession(Context);
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
}
