using System.Threading.RateLimiting;
using Relay.Client.Protocol;
using Relay.ClientIp;
using Relay.Routing;
using Relay.Sessions;

namespace Relay.Hubs;

internal sealed partial class RelayHub
{
    /// <summary>
    /// Charges what adding <paramref name="request"/> may cost before anything is done for it. Joining a topic the session
    /// already holds is free and needs no check. A new topic costs a guest one of the address's new-topic tokens (guests
    /// share one session and its PocketBase topic budget, so no address may fill it for everyone), and a new topic with a
    /// filter costs one of the address's filter checks (a PocketBase list request). Each upstream topic is charged once
    /// per call (<paramref name="chargedInThisCall"/>).
    /// </summary>
    private void ChargeBudgets(UserSession session, TopicSubscription request, HashSet<string>? chargedInThisCall)
    {
        if (session.HoldsTopic(request.UpstreamTopic) || chargedInThisCall?.Add(request.UpstreamTopic) == false)
        {
            return;
        }

        var address = ClientAddress.Of(Context);
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
    }

    /// <summary>Checks a paid-for filter with PocketBase inside one of the slots all filter checks share.</summary>
    private async Task CheckFilterAsync(UserSession session, TopicSubscription request)
    {
        if (request.Filter is null || session.HoldsTopic(request.UpstreamTopic))
        {
            return;
        }

        var timeout = pocketBaseOptions.Value.SubscribeTimeout;
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(Context.ConnectionAborted);
        waiting.CancelAfter(timeout);
        RateLimitLease slot;
        try
        {
            slot = await filterChecks.EnterAsync(waiting.Token);
        }
        catch (OperationCanceledException) when (!Context.ConnectionAborted.IsCancellationRequested)
        {
            throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, $"no filter check could start within {timeout.TotalSeconds:0.#} s; retry later");
        }

        using (slot)
        {
            if (!slot.IsAcquired)
            {
                throw new RelayHubException(RelayErrorCodes.UpstreamUnavailable, "too many filter checks are waiting (Relay:FilterChecks:QueueLimit); retry later");
            }

            await session.CheckFilterAsync(request, Context.ConnectionAborted);
        }
    }

    private static string Seconds(TimeSpan wait) => Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
