using Microsoft.AspNetCore.SignalR;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>A stand-in for a protocol-2 Relay hub: <see cref="FakeRelayHubV1"/> plus <c>SubscribeMany</c>.</summary>
internal sealed class FakeRelayHub(FakeRelay relay) : FakeRelayHubV1(relay), IRelayHub
{
    public async Task<SubscribeResult[]> SubscribeMany(SubscribeRequest[] requests)
    {
        Relay.Record(new HubCall(Context.ConnectionId, nameof(SubscribeMany), string.Join(',', requests.Select(r => r.Topic)), null) { Requests = requests });
        if (Relay.TakeRateLimit())
        {
            throw new HubException($"{RelayErrorCodes.RateLimited}: the fake limits this call");
        }

        var results = new SubscribeResult[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            try
            {
                await SubscribeOneAsync(requests[i].Topic);
                var recovered = requests[i].Since is { } since && Relay.RecoverableSince.TryGetValue(requests[i].Topic, out var covered) && covered == since;
                if (recovered && Relay.ReplayOnRecover.TryGetValue(requests[i].Topic, out var missed))
                {
                    // As Relay does: the missed events go out before the result.
                    foreach (var relayEvent in missed)
                    {
                        await Clients.Caller.Event(relayEvent);
                    }
                }

                results[i] = new SubscribeResult { Topic = requests[i].Topic, Recovered = recovered, Offset = $"head-{requests[i].Topic}" };
            }
            catch (HubException ex)
            {
                results[i] = new SubscribeResult { Topic = requests[i].Topic, Error = RelayErrorCodes.FromMessage(ex.Message), Message = ex.Message };
            }
        }

        return results;
    }
}
