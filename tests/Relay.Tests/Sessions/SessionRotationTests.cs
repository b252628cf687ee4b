using Relay.Routing;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

/// <summary>What a session's connections see of stream rotation and of a real loss, on a fake clock.</summary>
public class SessionRotationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task QuietSession_StreamRotatedBeforePocketBasesIdleLimit_ConnectionsGetNoResync_ButARealLossResyncs()
    {
        await using var harness = new SessionHarness();
        // The fake ends streams as current PocketBase does: 5 minutes after its last message, and at 30 minutes.
        harness.PocketBase.Clock = harness.Time;
        harness.PocketBase.IdleLimit = TimeSpan.FromMinutes(5);
        harness.PocketBase.LifetimeLimit = TimeSpan.FromMinutes(30);
        var connection = harness.NewConnection();
        var session = harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        await session.SubscribeAsync(connection, new TopicSubscription("announcements/*", "announcements/*"), 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        var first = await harness.PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // An hour of silence: PocketBase would have closed the stream 12 times; Relay replaces it before each.
        var streams = new List<Upstream.FakePocketBase.SseStream> { first };
        await harness.AdvanceUntilAsync(
            () =>
            {
                while (harness.PocketBase.Streams.Reader.TryRead(out var next))
                {
                    streams.Add(next);
                }

                return streams.Count >= 13;
            },
            TimeSpan.FromSeconds(5),
            limit: TimeSpan.FromMinutes(61));
        await SessionHarness.SettleAsync();
        Assert.Equal(0, connection.QueuedCount);
        Assert.Equal(0, harness.PocketBase.ClosedByLimit);

        // Delivery continues on the newest stream once its predecessor is retired. (While both are open PocketBase sends
        // a change on both; one written on the new stream alone during the overlap is what a stream cut before its
        // rotation looks like, and is rightly answered with a Resync: UpstreamRotationTests.OldStreamCutBeforeItsRotation.)
        Assert.Equal(1, session.StreamCount);
        await harness.AdvanceUntilAsync(() => streams.Take(streams.Count - 1).All(static s => s.IsClosed), TimeSpan.FromMilliseconds(100));
        var current = streams[^1];
        await current.WriteRecordAsync("announcements/*", "create", "after-an-hour");
        await harness.AdvanceUntilAsync(() => connection.QueuedCount == 1, TimeSpan.FromMilliseconds(100));

        // A stream PocketBase ends early (restart, network cut) is a real loss: the connection is told to resync.
        current.Close();
        await harness.AdvanceUntilAsync(() => connection.QueuedCount == 2, TimeSpan.FromSeconds(1));
    }
}
