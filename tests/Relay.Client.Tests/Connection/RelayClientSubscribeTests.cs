using System.Text.Json;
using System.Threading.Channels;
using Relay.Client.Protocol;
using Relay.Client.Tests.Infrastructure;

namespace Relay.Client.Tests.Connection;

/// <summary>Subscriptions against a fake hub: local ref-counting, refusals, dispatch.</summary>
public sealed class RelayClientSubscribeTests
{
    private static readonly Func<RelayEvent, Task> Ignore = _ => Task.CompletedTask;

    [Fact]
    public async Task SubscribeAsync_TwoLocalSubscribers_OneHubSubscribeAndOneUnsubscribe()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();

        var first = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();
        var second = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();
        Assert.Single(relay.SubscribeRequests());

        await first.DisposeAsync();
        await first.DisposeAsync();
        Assert.Empty(relay.CallsOf(nameof(IRelayHub.Unsubscribe)));

        await second.DisposeAsync();
        await TestTimeouts.WaitUntilAsync(() => relay.CallsOf(nameof(IRelayHub.Unsubscribe)).Count == 1, "the hub sees Unsubscribe");
        Assert.Equal("notes/*", relay.CallsOf(nameof(IRelayHub.Unsubscribe)).Single().Topic);

        // Nothing is held any more: the next subscriber subscribes on the hub again.
        await using var third = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();
        Assert.Equal(2, relay.SubscribeRequests().Count);
    }

    [Fact]
    public async Task SubscribeAsync_OptionsAndNull_SentAsGiven()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();

        var options = new SubscriptionOptions { Query = new Dictionary<string, string> { ["expand"] = "owner" }, Headers = new Dictionary<string, string> { ["x-app"] = "1" } };
        await using var withOptions = await client.SubscribeAsync("notes/*", Ignore, options).DefaultTimeout();
        await using var without = await client.SubscribeAsync("notes/r1", Ignore).DefaultTimeout();

        var calls = relay.SubscribeRequests();
        Assert.Equal("owner", calls.Single(c => c.Topic == "notes/*").Options!.Query!["expand"]);
        Assert.Equal("1", calls.Single(c => c.Topic == "notes/*").Options!.Headers!["x-app"]);
        Assert.Null(calls.Single(c => c.Topic == "notes/r1").Options);
    }

    [Fact]
    public async Task SubscribeAsync_Refused_ThrowsWithCodeAndKeepsNoState()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        relay.Refusals["secrets/*"] = RelayErrorCodes.TopicNotAllowed;
        var received = Channel.CreateUnbounded<RelayEvent>();

        var ex = await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.SubscribeAsync("secrets/*", e => received.Writer.WriteAsync(e).AsTask())).DefaultTimeout();

        Assert.Equal(RelayErrorCodes.TopicNotAllowed, ex.Code);
        Assert.StartsWith("topic_not_allowed: ", ex.Message, StringComparison.Ordinal);
        // No local state: an event for the topic reaches nobody, and the next subscriber asks the hub again.
        var connection = Assert.Single(relay.Open);
        await relay.SendEventAsync(connection, Event("secrets/*", "s1"));
        relay.Refusals.Clear();
        await using var accepted = await client.SubscribeAsync("secrets/*", Ignore).DefaultTimeout();
        Assert.Equal(2, relay.SubscribeRequests().Count);
        Assert.False(received.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SubscribeAsync_HeldTopicWithOtherOptions_ThrowsInvalidOperation()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        await using var plain = await client.SubscribeAsync("notes/*", Ignore).DefaultTimeout();

        var other = new SubscriptionOptions { Query = new Dictionary<string, string> { ["fields"] = "id" } };
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.SubscribeAsync("notes/*", Ignore, other)).DefaultTimeout();

        Assert.Contains("other options", ex.Message, StringComparison.Ordinal);
        Assert.Single(relay.SubscribeRequests());
    }

    [Fact]
    public async Task SubscribeAsync_BadArguments_Throw()
    {
        await using var client = new RelayClient(new RelayClientOptions { Url = new Uri("http://127.0.0.1:1/") });

        await Assert.ThrowsAsync<ArgumentException>(() => client.SubscribeAsync("", Ignore)).DefaultTimeout();
        await Assert.ThrowsAsync<ArgumentNullException>(() => client.SubscribeAsync("notes/*", null!)).DefaultTimeout();
    }

    [Fact]
    public async Task Event_SeveralTopics_EachHandlerGetsItsOwnInOrderOneAtATime()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var notes = new List<string>();
        var tasks = new List<string>();
        var bothNotes = new List<string>();
        var running = 0;
        var overlapped = false;
        async Task Record(List<string> into, RelayEvent e)
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            await Task.Yield();
            lock (into)
            {
                into.Add(e.Record.GetProperty("id").GetString()!);
            }

            Interlocked.Decrement(ref running);
        }

        await using var a = await client.SubscribeAsync("notes/*", e => Record(notes, e)).DefaultTimeout();
        await using var b = await client.SubscribeAsync("tasks/*", e => Record(tasks, e)).DefaultTimeout();
        await using var c = await client.SubscribeAsync("notes/*", e => Record(bothNotes, e)).DefaultTimeout();
        var connection = Assert.Single(relay.Open);

        for (var i = 0; i < 40; i++)
        {
            await relay.SendEventAsync(connection, Event(i % 2 == 0 ? "notes/*" : "tasks/*", $"r{i}"));
        }

        await relay.SendEventAsync(connection, Event("unknown/*", "nobody"));
        await TestTimeouts.WaitUntilAsync(() => Count(notes) == 20 && Count(tasks) == 20 && Count(bothNotes) == 20, "all events are dispatched");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"r{i * 2}"), notes);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"r{(i * 2) + 1}"), tasks);
        Assert.Equal(notes, bothNotes);
        Assert.False(overlapped, "handlers ran concurrently");
    }

    [Fact]
    public async Task Event_HandlerThrows_LoggedAndOthersAndLaterEventsStillDelivered()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var failing = await client.SubscribeAsync("notes/*", _ => throw new InvalidOperationException("handler bug")).DefaultTimeout();
        await using var working = await client.SubscribeAsync("notes/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        var connection = Assert.Single(relay.Open);

        await relay.SendEventAsync(connection, Event("notes/*", "r1"));
        await relay.SendEventAsync(connection, Event("notes/*", "r2"));

        Assert.Equal("r1", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.Equal("r2", (await received.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        var errors = relay.ClientLogs.GetSnapshot().Where(r => r.Category == typeof(RelayClient).FullName && r.Level == Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.Equal(2, errors.Count);
        Assert.All(errors, r => Assert.Equal(1, r.Id.Id));
        Assert.All(errors, r => Assert.IsType<InvalidOperationException>(r.Exception));
        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Event_SentBeforeSubscribeCompletes_IsDelivered()
    {
        // Relay may deliver a change right after PocketBase accepted the subscription, before the call's completion;
        // SignalR dispatches events and completions on separate loops, so the event must not find the topic missing.
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        const int Topics = 3;
        var received = new int[Topics];
        var subscriptions = new List<IAsyncDisposable>();

        for (var i = 0; i < Topics; i++)
        {
            var topic = $"c{i}/*";
            var index = i;
            relay.EventsOnSubscribe[topic] = Event(topic, "early");
            subscriptions.Add(await client.SubscribeAsync(topic, _ =>
            {
                Interlocked.Increment(ref received[index]);
                return Task.CompletedTask;
            }).DefaultTimeout());
        }

        await TestTimeouts.WaitUntilAsync(() => Enumerable.Range(0, Topics).All(i => Volatile.Read(ref received[i]) == 1), "every early event is delivered");
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
    }

    [Fact]
    public async Task Event_HandlerDisposesItsSubscriptionAndSubscribesAnother_NoDeadlock()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        await client.StartAsync().DefaultTimeout();
        var followUp = Channel.CreateUnbounded<RelayEvent>();
        IAsyncDisposable? self = null;
        IAsyncDisposable? next = null;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        self = await client.SubscribeAsync("notes/*", async _ =>
        {
            await self!.DisposeAsync();
            next = await client.SubscribeAsync("tasks/*", e => followUp.Writer.WriteAsync(e).AsTask());
            done.SetResult();
        }).DefaultTimeout();
        var connection = Assert.Single(relay.Open);

        await relay.SendEventAsync(connection, Event("notes/*", "r1"));
        await done.Task.DefaultTimeout();
        await relay.SendEventAsync(connection, Event("tasks/*", "t1"));

        Assert.Equal("t1", (await followUp.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.Equal("notes/*", relay.CallsOf(nameof(IRelayHub.Unsubscribe)).Single().Topic);
        await next!.DisposeAsync();
    }

    [Fact]
    public async Task UseMessagePack_RecordWithNestedValues_ArrivesIntact()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient(options => options.UseMessagePack = true);
        await client.StartAsync().DefaultTimeout();
        var received = Channel.CreateUnbounded<RelayEvent>();
        await using var subscription = await client.SubscribeAsync("notes/*", e => received.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        const string Record = """{"id":"r1","title":"ünïcode","n":42,"f":1.5,"ok":true,"none":null,"tags":["a",{"b":[1,2]}],"expand":{"owner":{"id":"u1","name":"Ann"}}}""";

        await relay.SendEventAsync(Assert.Single(relay.Open), new RelayEvent { Topic = "notes/*", Action = RelayActions.Update, Record = JsonDocument.Parse(Record).RootElement.Clone() });

        var relayEvent = await received.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(RelayActions.Update, relayEvent.Action);
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(Record).RootElement, relayEvent.Record), relayEvent.Record.GetRawText());
        Assert.Equal("Ann", relayEvent.Record.GetProperty("expand").GetProperty("owner").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Resync_SentByRelay_ForwardedAfterEarlierEvents()
    {
        await using var relay = await FakeRelay.StartAsync();
        await using var client = relay.CreateClient();
        var seen = Channel.CreateUnbounded<string>();
        client.Resync += signal => seen.Writer.WriteAsync($"resync {signal.Reason} {string.Join(',', signal.Topics)}").AsTask();
        await client.StartAsync().DefaultTimeout();
        await using var subscription = await client.SubscribeAsync("notes/*", async e =>
        {
            await Task.Delay(50);
            await seen.Writer.WriteAsync($"event {e.Record.GetProperty("id").GetString()}");
        }).DefaultTimeout();
        var connection = Assert.Single(relay.Open);

        await relay.SendEventAsync(connection, Event("notes/*", "r1"));
        await relay.SendResyncAsync(connection, new ResyncSignal { Topics = ["notes/*"], Reason = ResyncReasons.Overflow });

        Assert.Equal("event r1", await seen.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal("resync overflow notes/*", await seen.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    internal static RelayEvent Event(string topic, string id)
        => new() { Topic = topic, Action = RelayActions.Create, Record = JsonDocument.Parse($$$"""{"id":"{{{id}}}","nested":{"n":1}}""").RootElement.Clone() };

    private static int Count(List<string> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }
}
