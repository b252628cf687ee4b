using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Client.Protocol;
using Relay.Client.Tests.Infrastructure;
using static Relay.Client.Tests.Connection.RelayClientSubscribeTests;

namespace Relay.Client.Tests.Connection;

/// <summary>Protocol version 2 against a fake hub: SubscribeMany batches, retries of refusals that may pass, Events batches, drains.</summary>
public sealed class RelayClientBatchTests
{
    private const int PageTopics = 40;

    private static readonly Func<RelayEvent, Task> Ignore = _ => Task.CompletedTask;

    private static string[] PageOfTopics() => ["patients/*", .. Enumerable.Range(1, PageTopics - 1).Select(i => $"patients/p{i}")];

    [Fact]
    public async Task SubscribeAsync_PageMountOf40Topics_OneSubscribeManyAndAll40Held()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var connection = await relay.WaitForConnectionAsync(1);

        var subscriptions = await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore))).DefaultTimeout();

        var call = Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany)));
        Assert.Equal(PageOfTopics(), call.Requests!.Select(r => r.Topic));
        Assert.Empty(relay.CallsOf(nameof(IRelayHub.Subscribe)));
        Assert.Equal(PageTopics, subscriptions.Length);
        Assert.Equal("2", connection.ProtocolVersion);
    }

    [Fact]
    public async Task SubscribeAsync_BeforeStart_AllTopicsGoOutInOneSubscribeManyOnceConnected()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var pending = PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore)).ToList();
        await Task.Delay(TestTimeouts.Quiet);
        Assert.DoesNotContain(pending, t => t.IsCompleted);

        await client.StartAsync().DefaultTimeout();

        await Task.WhenAll(pending).DefaultTimeout();
        Assert.Equal(PageTopics, Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany))).Requests!.Length);
    }

    [Fact]
    public async Task StartAsync_FirstBatchRateLimited_TopicsRequestedBeforeTheStartRetriedUntilHeld()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        relay.RateLimitNextCalls = 1;
        var pending = PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore)).ToList();

        await client.StartAsync().DefaultTimeout();

        await Task.WhenAll(pending).DefaultTimeout();
        var calls = relay.CallsOf(nameof(IRelayHub.SubscribeMany));
        Assert.Equal(2, calls.Count);
        Assert.All(calls, call => Assert.Equal(PageTopics, call.Requests!.Length));
    }

    [Fact]
    public async Task SubscribeAsync_BatchRateLimited_RetriedWithBackoffUntilItSucceeds()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var failures = 0;
        client.SubscriptionFailed += _ => Task.FromResult(Interlocked.Increment(ref failures));
        await client.StartAsync().DefaultTimeout();
        relay.RateLimitNextCalls = 2;

        await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore))).DefaultTimeout();

        var calls = relay.CallsOf(nameof(IRelayHub.SubscribeMany));
        Assert.Equal(3, calls.Count);
        Assert.All(calls, call => Assert.Equal(PageTopics, call.Requests!.Length));
        Assert.Equal(0, Volatile.Read(ref failures));
        var retries = relay.ClientLogs.GetSnapshot().Where(r => r.Category == typeof(RelayClient).FullName && r.Id.Id == 6).ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Contains(RelayErrorCodes.RateLimited, r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubscribeAsync_EntryUpstreamUnavailable_OnlyThatEntryRetriedAndItsEventsFlowOnceHeld()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        relay.Refusals["b/*"] = RelayErrorCodes.UpstreamUnavailable;
        var received = Channel.CreateUnbounded<RelayEvent>();

        var a = client.SubscribeAsync("a/*", Ignore);
        var b = client.SubscribeAsync("b/*", e => received.Writer.WriteAsync(e).AsTask());
        await using var held = await a.DefaultTimeout();
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests().Count(r => r.Topic == "b/*") >= 3, "b/* is retried twice");
        Assert.False(b.IsCompleted, "a topic refused for now is neither held nor dropped");
        relay.Refusals.Clear();

        await using var retried = await b.DefaultTimeout();
        Assert.Single(relay.SubscribeRequests(), r => r.Topic == "a/*");
        await relay.SendEventAsync(Assert.Single(relay.Open), Event("b/*", "b1"));
        Assert.Equal("b1", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task SubscribeAsync_ReleasedWhileRetrying_NeverSentAgain()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.ReconnectBaseDelay = options.ReconnectMaxDelay = TimeSpan.FromMilliseconds(200));
        await client.StartAsync().DefaultTimeout();
        relay.Refusals["b/*"] = RelayErrorCodes.UpstreamUnavailable;
        using var cancellation = new CancellationTokenSource();

        var b = client.SubscribeAsync("b/*", Ignore, cancellationToken: cancellation.Token);
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests().Count == 1, "b/* is sent once");
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b).DefaultTimeout();
        relay.Refusals.Clear();

        await Task.Delay(TestTimeouts.Quiet);
        Assert.Single(relay.SubscribeRequests());
        Assert.Empty(relay.CallsOf(nameof(IRelayHub.Unsubscribe)));
    }

    [Fact]
    public async Task SubscribeAsync_RefusedForGood_ThrowsAndSubscriptionFailedNamesTheTopic()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var failures = Channel.CreateUnbounded<RelaySubscriptionException>();
        client.SubscriptionFailed += error => failures.Writer.WriteAsync(error).AsTask();
        await client.StartAsync().DefaultTimeout();
        relay.Refusals["secrets/*"] = RelayErrorCodes.TopicNotAllowed;
        relay.Refusals["notes/bad"] = RelayErrorCodes.SubscriptionRefused;

        var ok = client.SubscribeAsync("notes/*", Ignore);
        var secrets = client.SubscribeAsync("secrets/*", Ignore);
        var bad = client.SubscribeAsync("notes/bad", Ignore);

        await using var held = await ok.DefaultTimeout();
        Assert.Equal(RelayErrorCodes.TopicNotAllowed, (await Assert.ThrowsAsync<RelaySubscriptionException>(() => secrets).DefaultTimeout()).Code);
        Assert.Equal(RelayErrorCodes.SubscriptionRefused, (await Assert.ThrowsAsync<RelaySubscriptionException>(() => bad).DefaultTimeout()).Code);
        var reported = new[] { await failures.Reader.ReadAsync().AsTask().DefaultTimeout(), await failures.Reader.ReadAsync().AsTask().DefaultTimeout() };
        Assert.Equal(["notes/bad", "secrets/*"], reported.Select(e => e.Topic).Order());
        Assert.StartsWith("topic_not_allowed: ", reported.Single(e => e.Topic == "secrets/*").Message, StringComparison.Ordinal);
        Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany)));
    }

    [Fact]
    public async Task FullReconnect_40Topics_ResubscribedInOneCallWithoutWarningThenResync()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<string>();
        var subscriptions = await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, e => received.Writer.WriteAsync(e.Topic).AsTask()))).DefaultTimeout();

        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        var signal = await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(PageOfTopics().Order(), signal.Topics.Order());
        var second = relay.Connected[1];
        Assert.Equal(PageTopics, Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), second.ConnectionId)).Requests!.Length);
        Assert.Empty(relay.CallsOf(nameof(IRelayHub.Subscribe)));
        foreach (var topic in PageOfTopics())
        {
            await relay.SendEventAsync(second, Event(topic, "after"));
            Assert.Equal(topic, await received.Reader.ReadAsync().AsTask().DefaultTimeout());
        }

        Assert.DoesNotContain(relay.ClientLogs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task FullReconnect_ResubscribeRateLimited_RetriedAsOneCallAndResyncedOnceHeld()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore))).DefaultTimeout();

        relay.RateLimitNextCalls = 1;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        Assert.Equal(PageTopics, (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics.Count);
        var second = relay.Connected[1];
        var calls = relay.CallsOf(nameof(IRelayHub.SubscribeMany), second.ConnectionId);
        Assert.Equal(2, calls.Count);
        Assert.All(calls, call => Assert.Equal(PageTopics, call.Requests!.Length));
    }

    [Fact]
    public async Task Callbacks_SubscriptionFailedAndRetriedResync_MaySubscribeWithoutDeadlock()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var fallback = new TaskCompletionSource<IAsyncDisposable>(TaskCreationOptions.RunContinuationsAsynchronously);
        var afterResync = new TaskCompletionSource<IAsyncDisposable>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.SubscriptionFailed += async error => fallback.TrySetResult(await client.SubscribeAsync("fallback/*", Ignore));
        client.Resync += async signal =>
        {
            if (signal.Topics.Contains("b/*"))
            {
                afterResync.TrySetResult(await client.SubscribeAsync("c/*", Ignore));
            }
        };
        await client.StartAsync().DefaultTimeout();
        relay.Refusals["bad/*"] = RelayErrorCodes.TopicNotAllowed;

        // Refused for good by a batch the pump sent: the callback subscribes another topic.
        await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.SubscribeAsync("bad/*", Ignore)).DefaultTimeout();
        await using var fallbackSubscription = await fallback.Task.DefaultTimeout();

        // Restored by a retry the pump sent after a reconnect: the Resync callback subscribes another topic.
        await using var b = await client.SubscribeAsync("b/*", Ignore).DefaultTimeout();
        relay.Refusals["b/*"] = RelayErrorCodes.UpstreamUnavailable;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));
        var second = await relay.WaitForConnectionAsync(2);
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests(second.ConnectionId).Any(r => r.Topic == "b/*"), "b/* is refused once on the new connection");
        relay.Refusals.TryRemove("b/*", out _);
        await using var c = await afterResync.Task.DefaultTimeout();
    }

    [Fact]
    public async Task SkipNegotiation_NoConnectionId_SubscribesAndResubscribesAfterADrop()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.ConfigureConnection = builder =>
            builder.Services.Configure<Microsoft.AspNetCore.Http.Connections.Client.HttpConnectionOptions>(http =>
            {
                http.SkipNegotiation = true;
                http.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
            }));
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        await using var notes = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();

        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        Assert.Equal(["notes/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        Assert.Single(relay.SubscribeRequests(relay.Connected[1].ConnectionId));
    }

    [Fact]
    public async Task StopThenStart_AsOnAppResume_TopicsKeptRestoredInOneCallAndResynced()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        var closed = 0;
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        client.Closed += _ => Task.FromResult(Interlocked.Increment(ref closed));
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<string>();
        await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, e => received.Writer.WriteAsync(e.Topic).AsTask()))).DefaultTimeout();

        await client.StopAsync().DefaultTimeout();
        Assert.Equal(HubConnectionState.Disconnected, client.State);
        await TestTimeouts.WaitUntilAsync(() => Volatile.Read(ref closed) == 1, "Closed is raised");
        await client.StartAsync().DefaultTimeout();

        Assert.Equal(PageTopics, (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics.Count);
        var second = await relay.WaitForConnectionAsync(2);
        Assert.Equal(PageTopics, Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), second.ConnectionId)).Requests!.Length);
        await relay.SendEventAsync(second, Event("patients/p7", "x"));
        Assert.Equal("patients/p7", await received.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Events_Batch_DispatchedInOrderWithEventAndResync(bool messagePack)
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.UseMessagePack = messagePack);
        var seen = Channel.CreateUnbounded<string>();
        client.Resync += signal => seen.Writer.WriteAsync($"resync {signal.Reason}").AsTask();
        await client.StartAsync().DefaultTimeout();
        async Task Record(RelayEvent e)
        {
            // A slow handler: the batch still arrives in order, one handler at a time.
            await Task.Delay(5);
            await seen.Writer.WriteAsync($"{e.Topic} {e.Record.GetProperty("id").GetString()}");
        }

        await using var notes = await client.SubscribeAsync("notes/*", Record).DefaultTimeout();
        await using var tasks = await client.SubscribeAsync("tasks/*", Record).DefaultTimeout();
        var connection = Assert.Single(relay.Open);

        await relay.SendEventAsync(connection, Event("notes/*", "n0"));
        await relay.SendEventsAsync(connection, [.. Enumerable.Range(1, 10).Select(i => Event(i % 2 == 0 ? "notes/*" : "tasks/*", $"x{i}")), Event("other/*", "nobody")]);
        await relay.SendResyncAsync(connection, new ResyncSignal { Topics = ["notes/*"], Reason = ResyncReasons.Overflow });
        await relay.SendEventsAsync(connection, [Event("notes/*", "n11"), Event("tasks/*", "t12")]);

        string[] expected = ["notes/* n0", .. Enumerable.Range(1, 10).Select(i => $"{(i % 2 == 0 ? "notes/*" : "tasks/*")} x{i}"), "resync overflow", "notes/* n11", "tasks/* t12"];
        foreach (var line in expected)
        {
            Assert.Equal(line, await seen.Reader.ReadAsync().AsTask().DefaultTimeout());
        }
    }

    [Fact]
    public async Task Version1Relay_FallsBackToOneSubscribePerTopicAndRetriesRateLimitedOnes()
    {
        await using var relay = await FakeRelay.StartAsync(version1: true);
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var connection = await relay.WaitForConnectionAsync(1);
        relay.RateLimitNextCalls = 1;

        await Task.WhenAll(PageOfTopics().Select(topic => client.SubscribeAsync(topic, Ignore))).DefaultTimeout();

        var subscribes = relay.CallsOf(nameof(IRelayHub.Subscribe), connection.ConnectionId);
        // The first call was refused (rate_limited), which stopped the round; every topic was then held one call each.
        Assert.Equal(PageTopics + 1, subscribes.Count);
        Assert.Equal(PageOfTopics().Order(), subscribes.Skip(1).Select(c => c.Topic).Order());
        var fallback = Assert.Single(relay.ClientLogs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Id.Id == 8);
        Assert.Equal(LogLevel.Information, fallback.Level);
    }

    [Fact]
    public async Task RelayDrains_CloseAllowingReconnect_ClientReconnectsAndResubscribes()
    {
        await using var relay = await FakeRelay.StartAsync(allowStatefulReconnects: true);
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        var closed = 0;
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        client.Closed += _ => Task.FromResult(Interlocked.Increment(ref closed));
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var notes = await client.SubscribeAsync("notes/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        await relay.CloseAllowingReconnectAsync(await relay.WaitForConnectionAsync(1));

        Assert.Equal(["notes/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        var second = await relay.WaitForConnectionAsync(2);
        Assert.Equal(HubConnectionState.Connected, client.State);
        Assert.Equal(0, Volatile.Read(ref closed));
        await relay.SendEventAsync(second, Event("notes/*", "after the drain"));
        Assert.Equal("after the drain", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Unsubscribe_WhileSubscribeManyInFlight_SentAfterIt()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        // The fake holds the call for 100 ms when it sends an event first.
        relay.EventsOnSubscribe["slow/*"] = Event("slow/*", "early");
        using var cancellation = new CancellationTokenSource();

        var slow = client.SubscribeAsync("slow/*", Ignore, cancellationToken: cancellation.Token);
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests().Count == 1, "the SubscribeMany is in flight");
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow).DefaultTimeout();

        await TestTimeouts.WaitUntilAsync(() => relay.CallsOf(nameof(IRelayHub.Unsubscribe)).Count == 1, "the hub sees Unsubscribe");
        Assert.Equal([nameof(IRelayHub.SubscribeMany), nameof(IRelayHub.Unsubscribe)], relay.Calls.Select(c => c.Method));
    }
}
