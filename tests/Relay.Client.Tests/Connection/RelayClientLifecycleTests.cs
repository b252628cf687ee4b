using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Relay.Client.Protocol;
using Relay.Client.Tests.Infrastructure;
using static Relay.Client.Tests.Connection.RelayClientSubscribeTests;

namespace Relay.Client.Tests.Connection;

/// <summary>Connecting, reconnecting, restoring topics and closing, against a fake hub.</summary>
public sealed class RelayClientLifecycleTests
{
    private static readonly Func<RelayEvent, Task> Ignore = _ => Task.CompletedTask;

    [Fact]
    public async Task ConnectionDropped_ReconnectsResubscribesWithOptionsThenRaisesResync()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var timeline = Channel.CreateUnbounded<string>();
        client.Reconnecting += _ => timeline.Writer.WriteAsync("reconnecting").AsTask();
        client.Reconnected += () => timeline.Writer.WriteAsync("reconnected").AsTask();
        // A failing subscriber is logged and does not keep the next one from running.
        client.Resync += _ => throw new InvalidOperationException("resync bug");
        client.Resync += signal => timeline.Writer.WriteAsync($"resync {signal.Reason} {string.Join(',', signal.Topics.Order())}").AsTask();
        await client.StartAsync().DefaultTimeout();
        var expand = new SubscriptionOptions { Query = new Dictionary<string, string> { ["expand"] = "owner" } };
        var first = Channel.CreateUnbounded<RelayEvent>();
        var second = Channel.CreateUnbounded<RelayEvent>();
        await using var a = await client.SubscribeAsync("notes/*", e => first.Writer.WriteAsync(e).AsTask(), expand).DefaultTimeout();
        await using var b = await client.SubscribeAsync("notes/*", e => second.Writer.WriteAsync(e).AsTask(), expand).DefaultTimeout();
        await using var c = await client.SubscribeAsync("tasks/r1", Ignore).DefaultTimeout();
        await (await client.SubscribeAsync("gone/*", Ignore).DefaultTimeout()).DisposeAsync();

        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        Assert.Equal("reconnecting", await timeline.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal("reconnected", await timeline.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal("resync reconnected notes/*,tasks/r1", await timeline.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal(HubConnectionState.Connected, client.State);
        var connection = relay.Connected[1];
        var restored = relay.SubscribeRequests(connection.ConnectionId);
        Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), connection.ConnectionId));
        Assert.Equal(["notes/*", "tasks/r1"], restored.Select(call => call.Topic).Order());
        Assert.Equal("owner", restored.Single(call => call.Topic == "notes/*").Options!.Query!["expand"]);
        Assert.Null(restored.Single(call => call.Topic == "tasks/r1").Options);

        await relay.SendEventAsync(connection, Event("notes/*", "after"));
        Assert.Equal("after", (await first.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.Equal("after", (await second.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        var failure = Assert.Single(relay.ClientLogs.GetSnapshot(), r => r.Level == LogLevel.Error && r.Category == typeof(RelayClient).FullName);
        Assert.Equal(4, failure.Id.Id);
    }

    [Fact]
    public async Task Reconnect_TopicUnavailableOnResubscribe_OthersRestoredAndItIsRetriedWithoutWarning()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var a = await client.SubscribeAsync("a/*", Ignore).DefaultTimeout();
        await using var b = await client.SubscribeAsync("b/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        relay.Refusals["b/*"] = RelayErrorCodes.UpstreamUnavailable;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        Assert.Equal(["a/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        var connection = await relay.WaitForConnectionAsync(2);
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests(connection.ConnectionId).Count(r => r.Topic == "b/*") >= 2, "b/* is retried on the same connection");
        relay.Refusals.Clear();

        Assert.Equal(["b/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        await relay.SendEventAsync(connection, Event("b/*", "back"));
        Assert.Equal("back", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.DoesNotContain(relay.ClientLogs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Reconnect_TopicRefusedForGoodOnResubscribe_SubscriptionFailedRaisedAndHandlersDropped()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var failures = Channel.CreateUnbounded<RelaySubscriptionException>();
        client.SubscriptionFailed += error => failures.Writer.WriteAsync(error).AsTask();
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var a = await client.SubscribeAsync("a/*", Ignore).DefaultTimeout();
        await using var b = await client.SubscribeAsync("b/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        relay.Refusals["b/*"] = RelayErrorCodes.TopicNotAllowed;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        var failure = await failures.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal("b/*", failure.Topic);
        Assert.Equal(RelayErrorCodes.TopicNotAllowed, failure.Code);
        var warning = Assert.Single(relay.ClientLogs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Level == LogLevel.Warning);
        Assert.Equal(7, warning.Id.Id);
        Assert.Contains("b/*", warning.Message, StringComparison.Ordinal);

        // Dropped for good: not sent again on the next connection, and its events reach nobody.
        relay.Refusals.Clear();
        FakeRelay.Drop(await relay.WaitForConnectionAsync(2));
        var third = await relay.WaitForConnectionAsync(3);
        await TestTimeouts.WaitUntilAsync(() => relay.SubscribeRequests(third.ConnectionId).Count == 1, "the third connection restores a/*");
        Assert.Equal("a/*", Assert.Single(relay.SubscribeRequests(third.ConnectionId)).Topic);
        await relay.SendEventAsync(third, Event("b/*", "nobody"));
        await Task.Delay(TestTimeouts.Quiet);
        Assert.False(received.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SubscribeAsync_WhileReconnecting_NewTopicWaitsHeldTopicJoinsReleasedTopicNotRestored()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var early = Channel.CreateUnbounded<RelayEvent>();
        var late = Channel.CreateUnbounded<RelayEvent>();
        var fresh = Channel.CreateUnbounded<RelayEvent>();
        await using var notes = await client.SubscribeAsync("notes/*", e => early.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        var tasks = await client.SubscribeAsync("tasks/*", Ignore).DefaultTimeout();

        relay.RefuseConnectionsWith = 503;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));
        await TestTimeouts.WaitUntilAsync(() => client.State == HubConnectionState.Reconnecting, "the client is reconnecting");

        var waiting = client.SubscribeAsync("new/*", e => fresh.Writer.WriteAsync(e).AsTask());
        await using var joined = await client.SubscribeAsync("notes/*", e => late.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        await tasks.DisposeAsync();
        await Task.Delay(TestTimeouts.Quiet);
        Assert.False(waiting.IsCompleted, "a new topic waits for the connection");
        relay.RefuseConnectionsWith = null;

        await using var newTopic = await waiting.DefaultTimeout();
        Assert.Equal(["notes/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        var connection = relay.Connected[1];
        Assert.Equal(["new/*", "notes/*"], relay.SubscribeRequests(connection.ConnectionId).Select(call => call.Topic).Order());
        Assert.Single(relay.CallsOf(nameof(IRelayHub.SubscribeMany), connection.ConnectionId));
        Assert.Empty(relay.CallsOf(nameof(IRelayHub.Unsubscribe)));
        await relay.SendEventAsync(connection, Event("notes/*", "r1"));
        await relay.SendEventAsync(connection, Event("new/*", "n1"));
        await early.Reader.ReadAsync().AsTask().DefaultTimeout();
        await late.Reader.ReadAsync().AsTask().DefaultTimeout();
        await fresh.Reader.ReadAsync().AsTask().DefaultTimeout();
    }

    [Fact]
    public async Task TransportDropped_StatefulReconnectBridgesIt_NoReconnectNoResync()
    {
        await using var relay = await FakeRelay.StartAsync(allowStatefulReconnects: true);
        await using var client = relay.CreateClient();
        var signals = 0;
        client.Reconnecting += _ => Task.FromResult(Interlocked.Increment(ref signals));
        client.Resync += _ => Task.FromResult(Interlocked.Increment(ref signals));
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var notes = await client.SubscribeAsync("notes/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        var connection = await relay.WaitForConnectionAsync(1);

        FakeRelay.Drop(connection);
        await relay.SendEventAsync(connection, Event("notes/*", "during the drop"));

        Assert.Equal("during the drop", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.Single(relay.Connected);
        Assert.Equal(0, Volatile.Read(ref signals));
    }

    [Fact]
    public async Task AccessTokenProvider_CurrentValueReachesRelayOnEveryConnect()
    {
        await using var relay = await FakeRelay.StartAsync();
        var token = "token-1";
        await using var client = relay.CreateClient(options => options.AccessTokenProvider = _ => ValueTask.FromResult<string?>(Volatile.Read(ref token)));
        await client.StartAsync().DefaultTimeout();

        var first = await relay.WaitForConnectionAsync(1);
        // The .NET SignalR client sends it as a bearer header, which Relay accepts like ?access_token=.
        Assert.Equal("token-1", first.BearerToken ?? first.QueryToken);

        Volatile.Write(ref token, "token-2");
        FakeRelay.Drop(first);
        var second = await relay.WaitForConnectionAsync(2);
        Assert.Equal("token-2", second.BearerToken ?? second.QueryToken);
    }

    [Fact]
    public async Task AccessTokenProvider_NullOrUnset_ConnectsAsGuest()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var nullToken = relay.CreateClient(options => options.AccessTokenProvider = _ => ValueTask.FromResult<string?>(null));
        await using var noProvider = relay.CreateClient();

        await nullToken.StartAsync().DefaultTimeout();
        await noProvider.StartAsync().DefaultTimeout();

        await relay.WaitForConnectionAsync(2);
        Assert.All(relay.Connected, connection => Assert.Null(connection.BearerToken ?? connection.QueryToken));
    }

    [Fact]
    public async Task StartAsync_TokenRejected_ThrowsHttpRequestException401()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.AccessTokenProvider = _ => ValueTask.FromResult<string?>(FakeRelay.RejectedToken));

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.StartAsync()).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Equal(HubConnectionState.Disconnected, client.State);
    }

    [Fact]
    public async Task StartAsync_RelayUnavailable_RetriesUntilItAnswers()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var states = new List<HubConnectionState>();
        client.StateChanged += state =>
        {
            lock (states)
            {
                states.Add(state);
            }
        };
        relay.RefuseConnectionsWith = 503;

        var starting = client.StartAsync();
        await TestTimeouts.WaitUntilAsync(() => relay.ClientLogs.GetSnapshot().Count(r => r.Id.Id == 9) >= 2, "two failed attempts are logged");
        Assert.False(starting.IsCompleted);
        relay.RefuseConnectionsWith = null;

        await starting.DefaultTimeout();
        Assert.Equal(HubConnectionState.Connected, client.State);
        lock (states)
        {
            Assert.Equal([HubConnectionState.Connecting, HubConnectionState.Connected], states);
        }
    }

    [Fact]
    public async Task StartAsync_AlreadyConnected_ThrowsInvalidOperationWithoutStateChange()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var changes = 0;
        client.StateChanged += _ => Interlocked.Increment(ref changes);

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.StartAsync()).DefaultTimeout();

        Assert.Equal(0, Volatile.Read(ref changes));
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task StartAsync_RelayUnavailableAndCancelled_ThrowsOperationCanceled()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        relay.RefuseConnectionsWith = 503;
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.StartAsync(cancellation.Token)).DefaultTimeout();

        Assert.Equal(HubConnectionState.Disconnected, client.State);
        Assert.Empty(relay.Connected);
    }

    [Fact]
    public async Task Closed_FiniteReconnectPolicyGivesUp_RaisedAndStartAsyncRestoresTopics()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.ConfigureConnection = builder => builder.WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.FromMilliseconds(20)]));
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var notes = await client.SubscribeAsync("notes/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        relay.RefuseConnectionsWith = 503;
        FakeRelay.Drop(await relay.WaitForConnectionAsync(1));

        Assert.NotNull(await closed.Task.DefaultTimeout());
        Assert.Equal(HubConnectionState.Disconnected, client.State);

        relay.RefuseConnectionsWith = null;
        await client.StartAsync().DefaultTimeout();
        var signal = await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(["notes/*"], signal.Topics);
        var connection = relay.Connected[1];
        await relay.SendEventAsync(connection, Event("notes/*", "back"));
        Assert.Equal("back", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task RelayClosesConnection_NoReconnectClosedRaisedAndStartAsyncRestoresTopics()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnecting = 0;
        client.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        client.Reconnecting += _ => Task.FromResult(Interlocked.Increment(ref reconnecting));
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        await using var notes = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();

        FakeRelay.Close(await relay.WaitForConnectionAsync(1));

        await closed.Task.DefaultTimeout();
        await Task.Delay(TestTimeouts.Quiet);
        Assert.Equal(HubConnectionState.Disconnected, client.State);
        Assert.Single(relay.Connected);
        Assert.Equal(0, Volatile.Read(ref reconnecting));

        await client.StartAsync().DefaultTimeout();
        Assert.Equal(["notes/*"], (await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout()).Topics);
        Assert.Equal("notes/*", Assert.Single(relay.SubscribeRequests(relay.Connected[1].ConnectionId)).Topic);
    }

    [Fact]
    public async Task DisposeAsync_RaisesClosedIsIdempotentAndLaterCallsThrowObjectDisposed()
    {
        await using var relay = await FakeRelay.StartAsync();
        var client = relay.CreateClient();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await client.StartAsync().DefaultTimeout();
        var subscription = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();

        await client.DisposeAsync().AsTask().DefaultTimeout();
        await client.DisposeAsync().AsTask().DefaultTimeout();
        await subscription.DisposeAsync().AsTask().DefaultTimeout();

        await closed.Task.DefaultTimeout();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.StartAsync()).DefaultTimeout();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.SubscribeAsync("notes/*", Ignore)).DefaultTimeout();
    }

    [Fact]
    public async Task ReauthenticateAsync_Refused_ThrowsWithCode()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();

        await client.ReauthenticateAsync("fresh-token").DefaultTimeout();
        var ex = await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.ReauthenticateAsync(FakeRelay.RejectedToken)).DefaultTimeout();

        Assert.Equal(RelayErrorCodes.InvalidToken, ex.Code);
        Assert.Equal("fresh-token", relay.CallsOf(nameof(IRelayHub.Reauthenticate))[0].Topic);
    }
}
