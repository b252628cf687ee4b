using System.Threading.RateLimiting;
using Relay.Client.Protocol;
using Relay.ClientIp;
using Relay.Routing;
using Relay.Sessions;

namespace Relay.Hubs;

internal sealed partial class RelayHub
{
    /// <summary>
    /// Pays for what adding <paramref name="request"/> may cost, before anything is done for it; null when it costs
    /// nothing. Joining a topic the session holds, or one another subscribe already paid for and is adding
    /// (<see cref="TopicClaims"/>), is free and needs no check. Otherwise a guest pays one of its address's new-topic
    /// tokens (guests share one session and its PocketBase topic budget, so no address may fill it for everyone), and a
    /// topic with a filter one of the address's filter checks (a PocketBase list request). Dispose the claim once the
    /// subscription was applied or failed.
    /// </summary>
    private TopicClaim? Claim(UserSession session, TopicSubscription request)
    {
        if (session.HoldsTopic(request.UpstreamTopic))
        {
            return null;
        }

        var address = ClientAddress.Of(Context);
        return claims.Join(session.Key, request.UpstreamTopic, () =>
        {
            if (session.Key.IsGuest && !guestLimiter.TryAddTopic(address, out var retryAfter))
            {
                throw new RelayHubException(
                    RelayErrorCodes.RateLimited,
                    $"this address added {guestLimits.Value.NewTopicsPerIpPerMinute} new guest topics in the last minute (Relay:GuestLimits:NewTopicsPerIpPerMinute); retry in {Seconds(retryAfter)} s");
            }

            if (request.Filter is not null && !filterChecks.TryCharge(address, out retryAfter))
            {
                throw new RelayHubException(
                    RelayErrorCodes.RateLimited,
                    $"this address had {filterCheckOptions.Value.PerIpPerMinute} new filters checked in the last minute (Relay:FilterChecks:PerIpPerMinute); retry in {Seconds(retryAfter)} s");
            }
        });
    }

    /// <summary>Checks a claimed topic's filter with PocketBase, once for all the claim's holders.</summary>
    private Task CheckFilterAsync(UserSession session, TopicSubscription request, TopicClaim? claim)
        => claim is null || request.Filter is null
            ? Task.CompletedTask
            : claim.CheckOnce(() => CheckFilterOnceAsync(session, request, filterChecks, pocketBaseOptions.Value.SubscribeTimeout)).WaitAsync(Context.ConnectionAborted);

    // Static and without the caller's connection: the check is shared by every holder of the claim, and one of them
    // leaving must not cancel it for the others. It is bounded by its own timeouts.
    private static async Task CheckFilterOnceAsync(UserSession session, TopicSubscription request, FilterCheckLimiter limiter, TimeSpan timeout)
    {
        using var waiting = new CancellationTokenSource(timeout);
        RateLimitLease slot;
        try
        {
            slot = await limiter.EnterAsync(waiting.Token);
        }
        catch (OperationCanceledException)
        {
            throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, $"no filter check could start within {timeout.TotalSeconds:0.#} s; retry later");
        }

        using (slot)
        {
            if (!slot.IsAcquired)
            {
                throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, "too many filter checks are waiting (Relay:FilterChecks:QueueLimit); retry later");
            }

            await session.CheckFilterAsync(request, CancellationToken.None);
        }
    }

    private static string Seconds(TimeSpan wait) => Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
