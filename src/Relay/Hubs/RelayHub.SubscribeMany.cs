using System.Diagnostics;
using Relay.Client.Protocol;
using Relay.Routing;
using Relay.Sessions;

namespace Relay.Hubs;

internal sealed partial class RelayHub
{
    public async Task<SubscribeResult[]> SubscribeMany(SubscribeRequest[] requests)
    {
        var max = limits.Value.MaxSubscriptionsPerConnection;
        if (requests is null || requests.Length > max)
        {
            throw new RelayHubException(RelayErrorCodes.InvalidRequest, $"SubscribeMany takes a list of 0-{max} entries (Relay:MaxSubscriptionsPerConnection)");
        }

        // Budgets first, in request order, each after its entry's stream was chosen (shared streams: the user's own or a
        // class stream; only a member's first shared topic awaits anything, one read of its own record): an entry the address cannot pay for costs
        // PocketBase nothing (a topic the session holds or another call is adding is free: TopicClaims). Then the
        // claimed filters are checked with PocketBase, at once (bounded overall, once per topic), and
        // each entry is applied (validation, routing, the per-connection limit, its replay) in request order, so a later
        // entry for the same topic wins as documented; the waits for PocketBase then overlap, so a page mount costs one
        // coalesced POST, not one per topic.
        var connection = RelayHubLifetimeManager.GetConnection(Context);
        var member = RelayHubLifetimeManager.GetSession(Context);
        var sessions = new UserSession[requests.Length];
        var claimed = new TopicClaim?[requests.Length];
        var checks = new Task<TopicSubscription>[requests.Length];
        var pending = new Task<SubscribeOutcome>[requests.Length];
        try
        {
            for (var i = 0; i < requests.Length; i++)
            {
                try
                {
                    var request = requests[i] ?? throw new RelayHubException(RelayErrorCodes.InvalidRequest, "the entry is null");
                    var subscription = CreateRequest(request.Topic, request.Options, request.Since);
                    // A shared topic is held on its class's stream (issue #22), every other on the user's own.
                    var routed = classStreams.RouteAsync(member, connection, subscription, request.Options, Context.ConnectionAborted);
                    sessions[i] = routed.IsCompletedSuccessfully ? routed.Result : await routed;
                    claimed[i] = Claim(sessions[i], subscription);
                    checks[i] = CheckOneAsync(sessions[i], subscription, request.Since, claimed[i]);
                }
                catch (Exception ex) when (ex is RelayHubException or SubscriptionException)
                {
                    checks[i] = Task.FromException<TopicSubscription>(ex);
                }
            }

            await ((Task)Task.WhenAll(checks)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            for (var i = 0; i < requests.Length; i++)
            {
                pending[i] = checks[i].IsCompletedSuccessfully
                    ? sessions[i].SubscribeCheckedAsync(connection, checks[i].Result, requests[i].Since, classStreams.RemainingFor(connection, member, sessions[i], max), pocketBaseOptions.Value.SubscribeTimeout, Context.ConnectionAborted)
                    : RethrowAsync(checks[i]);
            }
        }
        finally
        {
            // Every entry is applied (routed) or failed by now; the waits for PocketBase need no claim.
            foreach (var claim in claimed)
            {
                claim?.Dispose();
            }
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

        async Task<TopicSubscription> CheckOneAsync(UserSession session, TopicSubscription request, string? since, TopicClaim? claim)
        {
            await CheckFilterAsync(session, request, claim);
            await session.PrepareRecoveryAsync(since, Context.ConnectionAborted);
            return request;
        }

        static async Task<SubscribeOutcome> RethrowAsync(Task<TopicSubscription> failedCheck)
        {
            await failedCheck;
            throw new UnreachableException("Only called for a check that failed.");
        }
    }
}
