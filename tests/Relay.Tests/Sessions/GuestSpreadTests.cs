using Relay.Client.Protocol;
using Relay.Routing;
using Relay.Sessions;
using static Relay.Tests.TestWait;

namespace Relay.Tests.Sessions;

/// <summary>The guest topic set is spread over several PocketBase streams once it outgrows one.</summary>
public class GuestSpreadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task GuestTopicsPastTheStreamSize_SpreadOverStreams_EachStreamHoldsItsShare()
    {
        await using var harness = new SessionHarness(configure: o =>
        {
            o.GuestTopicsPerStream = 2;
            o.MaxGuestStreams = 3;
        });
        var connections = Enumerable.Range(0, 7).Select(_ => harness.NewConnection()).ToArray();
        UserSession? session = null;
        foreach (var connection in connections)
        {
            session = harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        }

        for (var i = 0; i < 6; i++)
        {
            await session!.SubscribeAsync(connections[i], Topic($"t{i}"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        }

        Assert.Equal(3, session!.StreamCount);
        Assert.Equal(6, session.TopicCount);

        // The budget (2 x 3) is used up: a new distinct topic is refused, an existing one can still be joined.
        var refused = await Assert.ThrowsAsync<SubscriptionException>(() => session.SubscribeAsync(connections[6], Topic("t6"), 100, Timeout, CancellationToken.None));
        Assert.Equal(RelayErrorCodes.TooManySubscriptions, refused.Code);
        await session.SubscribeAsync(connections[6], Topic("t0"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);

        // Each stream's last accepted POST holds at most its share, and together they hold every topic once.
        var last = new Dictionary<string, string[]>();
        while (harness.PocketBase.Posts.Reader.TryRead(out var post))
        {
            last[post.ClientId] = post.Topics;
        }

        Assert.Equal(3, last.Count);
        Assert.All(last.Values, topics => Assert.InRange(topics.Length, 1, 2));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"notes/t{i}"), last.Values.SelectMany(t => t).Order());

        // A topic freed on a full stream makes room there again instead of opening a fourth stream.
        session.Unsubscribe(connections[5], "notes/t5");
        await session.SubscribeAsync(connections[5], Topic("t7"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(3, session.StreamCount);
    }

    [Fact]
    public async Task UserSession_NeverSpreads()
    {
        await using var harness = new SessionHarness(configure: o =>
        {
            o.GuestTopicsPerStream = 1;
            o.MaxTopicsPerSession = 3;
        });
        var connection = harness.NewConnection();
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromDays(1);
        var session = harness.Manager.Attach(connection, new SessionKey(SessionHarness.UsersCollection, "alice"), SessionHarness.Token("alice", expiresAt), expiresAt);
        for (var i = 0; i < 3; i++)
        {
            await session.SubscribeAsync(connection, Topic($"t{i}"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        }

        Assert.Equal(1, session.StreamCount);
        Assert.Equal(
            RelayErrorCodes.TooManySubscriptions,
            (await Assert.ThrowsAsync<SubscriptionException>(() => session.SubscribeAsync(connection, Topic("t3"), 100, Timeout, CancellationToken.None))).Code);
    }

    [Fact]
    public async Task TopicMovedToAnotherStream_EventsFromItsFormerStreamAreNotDelivered()
    {
        await using var harness = new SessionHarness(configure: o =>
        {
            o.GuestTopicsPerStream = 2;
            o.MaxGuestStreams = 2;
        });
        var c = Enumerable.Range(0, 4).Select(_ => harness.NewConnection()).ToArray();
        UserSession session = null!;
        foreach (var connection in c)
        {
            session = harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        }

        // t0 and t1 fill the first stream, t2 opens the second; t0 leaves, t3 takes its place, and t0 comes back on the
        // second stream while the first may still carry it (its POST pending).
        await session.SubscribeAsync(c[0], Topic("t0"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        await session.SubscribeAsync(c[1], Topic("t1"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        await session.SubscribeAsync(c[2], Topic("t2"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        var first = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        var second = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        session.Unsubscribe(c[0], "notes/t0");
        await session.SubscribeAsync(c[3], Topic("t3"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        await session.SubscribeAsync(c[0], Topic("t0"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(2, session.StreamCount);

        // The first stream still sends t0, then t1 (same delivery loop, so t1's arrival means t0 was handled).
        await first.WriteRecordAsync("notes/t0", "update", "t0");
        await first.WriteRecordAsync("notes/t1", "update", "t1");
        await WaitUntilAsync(() => c[1].QueuedCount == 1);
        Assert.Equal(0, c[0].QueuedCount);

        await second.WriteRecordAsync("notes/t0", "update", "t0");
        await WaitUntilAsync(() => c[0].QueuedCount == 1);
    }


    private static TopicSubscription Topic(string recordId) => new($"notes/{recordId}", $"notes/{recordId}");
}
