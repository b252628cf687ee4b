using Microsoft.AspNetCore.SignalR;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>A stand-in for Relay's hub: records calls, refuses the topics it is told to, never talks to PocketBase.</summary>
internal sealed class FakeRelayHub(FakeRelay relay) : Hub<IRelayClient>, IRelayHub
{
    public override Task OnConnectedAsync()
    {
        var http = Context.GetHttpContext()!;
        var query = http.Request.Query[RelayProtocol.AccessTokenParameter].ToString();
        var header = http.Request.Headers.Authorization.ToString();
        relay.OnConnected(new FakeConnection(
            Context.ConnectionId,
            string.IsNullOrEmpty(query) ? null : query,
            header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null,
            Context));
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        relay.OnDisconnected(Context.ConnectionId);
        return Task.CompletedTask;
    }

    public async Task Subscribe(string topic, SubscriptionOptions? options)
    {
        relay.Record(new HubCall(Context.ConnectionId, nameof(Subscribe), topic, options));
        if (relay.Refusals.TryGetValue(topic, out var code))
        {
            throw new HubException($"{code}: the fake refuses '{topic}'");
        }

        if (relay.EventsOnSubscribe.TryGetValue(topic, out var relayEvent))
        {
            // A change PocketBase reported right after accepting the subscription, sent well before the completion so
            // the client dispatches it before the call returns.
            await Clients.Caller.Event(relayEvent);
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    public async Task<SubscribeResult[]> SubscribeMany(SubscribeRequest[] requests)
    {
        var results = new SubscribeResult[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            try
            {
                await Subscribe(requests[i].Topic, requests[i].Options);
                results[i] = new SubscribeResult { Topic = requests[i].Topic };
            }
            catch (HubException ex)
            {
                results[i] = new SubscribeResult { Topic = requests[i].Topic, Error = RelayErrorCodes.FromMessage(ex.Message), Message = ex.Message };
            }
        }

        return results;
    }

    public Task Unsubscribe(string topic)
    {
        relay.Record(new HubCall(Context.ConnectionId, nameof(Unsubscribe), topic, null));
        return Task.CompletedTask;
    }

    public Task Reauthenticate(string token)
    {
        relay.Record(new HubCall(Context.ConnectionId, nameof(Reauthenticate), token, null));
        return token == FakeRelay.RejectedToken
            ? throw new HubException($"{RelayErrorCodes.InvalidToken}: the fake refuses it")
            : Task.CompletedTask;
    }
}
