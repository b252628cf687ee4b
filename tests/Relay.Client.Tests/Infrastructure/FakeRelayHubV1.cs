using Microsoft.AspNetCore.SignalR;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>
/// A stand-in for a protocol-1 Relay hub (no <c>SubscribeMany</c>): records calls, refuses the topics it is told to,
/// never talks to PocketBase.
/// </summary>
internal class FakeRelayHubV1(FakeRelay relay) : Hub<IRelayClient>
{
    protected FakeRelay Relay => relay;

    public override Task OnConnectedAsync()
    {
        var http = Context.GetHttpContext()!;
        var query = http.Request.Query[RelayProtocol.AccessTokenParameter].ToString();
        var header = http.Request.Headers.Authorization.ToString();
        var version = http.Request.Query[RelayProtocol.VersionParameter].ToString();
        relay.OnConnected(new FakeConnection(
            Context.ConnectionId,
            string.IsNullOrEmpty(query) ? null : query,
            header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null,
            Context)
        {
            ProtocolVersion = string.IsNullOrEmpty(version) ? null : version,
        });
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        relay.OnDisconnected(Context.ConnectionId);
        return Task.CompletedTask;
    }

    public Task Subscribe(string topic, SubscriptionOptions? options)
    {
        relay.Record(new HubCall(Context.ConnectionId, nameof(Subscribe), topic, options));
        if (relay.TakeRateLimit())
        {
            throw new HubException($"{RelayErrorCodes.RateLimited}: the fake limits this call");
        }

        return SubscribeOneAsync(topic);
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

    /// <summary>What Relay does for one topic: refuse it, or hold it (sending an event PocketBase reported meanwhile first).</summary>
    protected async Task SubscribeOneAsync(string topic)
    {
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
}
