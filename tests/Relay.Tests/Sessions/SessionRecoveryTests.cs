using Microsoft.Extensions.Logging.Testing;
using Relay.Fanout;
using Relay.Routing;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

/// <summary>A connection that drops and comes back to the same session, on a fake clock with the fake PocketBase.</summary>
public class SessionRecoveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TopicSubscription Posts = new("posts/*", "posts/*");

    [Fact]
    public async Task Reconnect_WithinHistory_MissedEventsQueuedBeforeLiveOnes_Recovered()
    {
        await using var harness = new SessionHarness();
        var keeper = harness.NewConnection();
        var session = harness.Manager.Attach(keeper, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var dropped = harness.NewConnection();
        harness.Manager.Attach(dropped, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var first = await session.SubscribeAsync(dropped, Posts, since: null, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.False(first.Recovered);
        Assert.NotNull(first.Offset);
        var stream = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // The transport drops: the topic stays held upstream, and what PocketBase sends meanwhile is logged.
        harness.Manager.Detach(dropped);
        Assert.Equal(1, session.LingeringTopicCount);
        await stream.WriteRecordAsync("posts/*", "create", "a");
        await stream.WriteRecordAsync("posts/*", "update", "a");
        await SessionHarness.SettleAsync();

        var back = harness.NewConnection();
        harness.Manager.Attach(back, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var resumed = await session.SubscribeAsync(back, Posts, first.Offset, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.True(resumed.Recovered);
        Assert.Equal(2, back.QueuedCount);
        Assert.Equal(0, session.LingeringTopicCount);

        await stream.WriteRecordAsync("posts/*", "delete", "a");
        await harness.AdvanceUntilAsync(() => back.QueuedCount == 3, TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Reconnect_ReplayOverflowingTheQueue_ResyncNamesTheReplayedTopic()
    {
        await using var harness = new SessionHarness();
        var keeper = harness.NewConnection();
        var session = harness.Manager.Attach(keeper, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var dropped = harness.NewConnection();
        harness.Manager.Attach(dropped, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var first = await session.SubscribeAsync(dropped, Posts, since: null, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        var stream = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        harness.Manager.Detach(dropped);
        for (var i = 0; i < 4; i++)
        {
            // Distinct records: nothing to compact, so a queue of 3 overflows on the fourth.
            await stream.WriteRecordAsync("posts/*", "create", $"r{i}");
        }

        await SessionHarness.SettleAsync();

        // Coming back with a queue too small for what it missed: the replay overflows it, and the Resync that replaces
        // the dropped backlog must name the topic being replayed (else the client never learns it lost those events).
        var logger = new FakeLogger();
        var back = harness.NewConnection(new FanoutOptions { QueueCapacity = 3 }, logger);
        harness.Manager.Attach(back, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        await session.SubscribeAsync(back, Posts, first.Offset, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);

        var overflow = Assert.Single(logger.Collector.GetSnapshot(), static record => record.Id.Name == "Overflowed");
        Assert.Equal("1", overflow.StructuredState!.Single(static pair => pair.Key == "TopicCount").Value);
    }

    [Fact]
    public async Task Reconnect_AfterTheLingerOrAcrossAnUpstreamLoss_NotRecovered()
    {
        await using var harness = new SessionHarness(history: new HistoryOptions { MaxEvents = 100, MaxAge = TimeSpan.FromSeconds(30) });
        var keeper = harness.NewConnection();
        var session = harness.Manager.Attach(keeper, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var dropped = harness.NewConnection();
        harness.Manager.Attach(dropped, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var first = await session.SubscribeAsync(dropped, Posts, since: null, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        var stream = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // Offline longer than the history's age: the topic is released upstream and its coverage ends.
        harness.Manager.Detach(dropped);
        await harness.AdvanceUntilAsync(() => session.TopicCount == 0, TimeSpan.FromSeconds(5), limit: TimeSpan.FromMinutes(2));
        var late = harness.NewConnection();
        harness.Manager.Attach(late, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var resumed = await session.SubscribeAsync(late, Posts, first.Offset, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.False(resumed.Recovered);
        Assert.Equal(0, late.QueuedCount);

        // An upstream loss (PocketBase has no replay) is a gap even for a connection that was away only briefly.
        var current = stream;
        while (harness.PocketBase.Streams.Reader.TryRead(out var newer))
        {
            current = newer;
        }

        await session.SubscribeAsync(keeper, new TopicSubscription("tags/*", "tags/*"), since: null, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        harness.Manager.Detach(late);
        current.Close();
        // The loss is noticed once the stream is back: the keeper, holding another topic of it, is told to resync.
        await harness.AdvanceUntilAsync(() => keeper.QueuedCount == 1, TimeSpan.FromSeconds(1));
        var again = harness.NewConnection();
        harness.Manager.Attach(again, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var afterLoss = await session.SubscribeAsync(again, Posts, resumed.Offset, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.False(afterLoss.Recovered);
    }

    [Fact]
    public async Task Unsubscribe_DoesNotLinger()
    {
        await using var harness = new SessionHarness();
        var connection = harness.NewConnection();
        var session = harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        await session.SubscribeAsync(connection, Posts, since: null, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);

        session.Unsubscribe(connection, "posts/*");

        Assert.Equal(0, session.TopicCount);
        Assert.Equal(0, session.LingeringTopicCount);
    }
}
