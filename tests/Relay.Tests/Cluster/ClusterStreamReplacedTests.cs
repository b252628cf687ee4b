using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>
/// The Stream's keys deleted under a follower (the last incarnation elsewhere left before the follower's entry was there
/// to keep them) and created again: the follower's connections resync, and only once a PocketBase stream holds their
/// topics again, or a change made in between is lost after the Resync.
/// </summary>
public class ClusterStreamReplacedTests
{
    [Fact]
    public async Task KeysDeletedUnderANewFollower_ItResyncsOnlyOnceTheNewOwnersStreamHoldsTheTopics()
    {
        await using var cluster = new ClusterHarness();
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        await cluster.NextStreamAsync();
        var keys = new ClusterKeys("test");
        var epoch = cluster.Store.EpochOf("test");

        // B starts following (it read the Stream's end); before its entry is published, A, the only incarnation with an
        // entry, leaves and deletes the Stream's keys (as its last step: its loop and PocketBase stream are stopped).
        await upstreamA.HaltAsync();
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamB = cluster.Create(b, onB);
        cluster.Store.BeforePublish = () => Assert.True(cluster.Store.LeaveAsync(keys, upstreamA.MemberId, cluster.Time.GetUtcNow()).GetAwaiter().GetResult());

        // B takes the free lease on the new Stream and opens its PocketBase stream, whose POST PocketBase has not answered yet.
        var posted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.PocketBase.BeforePostAnswered = (_, _) =>
        {
            held.TrySetResult();
            return posted.Task;
        };
        try
        {
            upstreamB.Start();
            var stream = await cluster.NextStreamAsync();
            await WithinDeadline(held.Task);
            Assert.NotEqual(epoch, cluster.Store.EpochOf("test"));

            // A Resync now would come before PocketBase holds the topics: a change made until then is lost after it.
            for (var i = 0; i < 3; i++)
            {
                cluster.Time.Advance(cluster.Options.RenewInterval);
                await Task.Delay(20);
            }

            Assert.Equal(0, Volatile.Read(ref onB.Resubscribed));

            posted.TrySetResult();
            await cluster.AdvanceUntilAsync(() => Volatile.Read(ref onB.Resubscribed) > 0, "B's Resync once its stream holds the topics");
            await stream.WriteRecordAsync("notes/*", "update", "r1");
            Assert.Equal("r1", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
        }
        finally
        {
            posted.TrySetResult();
        }
    }
}
