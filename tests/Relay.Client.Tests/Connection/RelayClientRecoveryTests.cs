using System.Threading.Channels;
using Relay.Client.Protocol;
using Relay.Client.Tests.Infrastructure;
using static Relay.Client.Tests.Connection.RelayClientSubscribeTests;

namespace Relay.Client.Tests.Connection;

/// <summary>Offsets and recovery against a fake hub: the last offset per topic is kept and sent again; recovered topics are not resynced.</summary>
public sealed class RelayClientRecoveryTests
{
    private static RelayEvent WithOffset(RelayEvent relayEvent, string offset)
    {
        relayEvent.Offset = offset;
        return relayEvent;
    }

    [Fact]
    public async Task FullReconnect_SendsLastOffsetPerTopic_RecoveredTopicGetsReplayNotResync_OtherTopicResyncs()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        var reconnects = Channel.CreateUnbounded<bool>();
        client.Reconnected += () => reconnects.Writer.WriteAsync(true).AsTask();
        await client.StartAsync().DefaultTimeout();
        var notes = Channel.CreateUnbounded<string>();
        await using var notesSubscription = await client.SubscribeAsync("notes/*", e => notes.Writer.WriteAsync(e.Record.GetProperty("id").GetString()!).AsTask()).DefaultTimeout();
        await using var tasksSubscription = await client.SubscribeAsync("tasks/*", _ => Task.CompletedTask).DefaultTimeout();
        var first = await relay.WaitForConnectionAsync(1);
        Assert.All(relay.CallsOf(nameof(IRelayHub.SubscribeMany), first.ConnectionId), call => Assert.All(call.Requests!, r => Assert.Null(r.Since)));

        await relay.SendEventAsync(first, WithOffset(Event("notes/*", "n5"), "e1-5"));
        Assert.Equal("n5", await notes.Reader.ReadAsync().AsTask().DefaultTimeout());
        relay.RecoverableSince["notes/*"] = "e1-5";
        relay.ReplayOnRecover["notes/*"] = [WithOffset(Event("notes/*", "n6"), "e1-6")];

        FakeRelay.Drop(first);

        // notes/* is recovered (its missed event replayed, no Resync); tasks/*, which had no event, sent its baseline
        // (the offset of its first subscription's result) and, not recovered, is resynced.
        Assert.Equal("n6", await notes.Reader.ReadAsync().AsTask().DefaultTimeout());
        var signal = await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(["tasks/*"], signal.Topics);
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        var second = await relay.WaitForConnectionAsync(2);
        var requests = Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), second.ConnectionId)).Requests!;
        Assert.Equal("e1-5", requests.Single(r => r.Topic == "notes/*").Since);
        Assert.Equal("head-tasks/*", requests.Single(r => r.Topic == "tasks/*").Since);

        // The next reconnect resumes notes/* from its replayed event, and both topics recovered raise no Resync at all.
        relay.RecoverableSince["notes/*"] = "e1-6";
        relay.RecoverableSince["tasks/*"] = "head-tasks/*";
        relay.ReplayOnRecover["notes/*"] = [WithOffset(Event("notes/*", "n7"), "e1-7")];
        FakeRelay.Drop(second);
        Assert.Equal("n7", await notes.Reader.ReadAsync().AsTask().DefaultTimeout());
        await reconnects.Reader.ReadAsync().AsTask().DefaultTimeout();
        await reconnects.Reader.ReadAsync().AsTask().DefaultTimeout();
        var third = await relay.WaitForConnectionAsync(3);
        var again = Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), third.ConnectionId)).Requests!;
        Assert.Equal("e1-6", again.Single(r => r.Topic == "notes/*").Since);
        Assert.Equal("head-tasks/*", again.Single(r => r.Topic == "tasks/*").Since);

        // A Resync Relay sends is still raised; had the reconnect raised one, it would be read here first.
        await relay.SendResyncAsync(third, new ResyncSignal { Topics = ["notes/*"], Reason = ResyncReasons.Overflow });
        Assert.Equal(ResyncReasons.Overflow, (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Reason);
    }
}
