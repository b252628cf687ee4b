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
        await WithinDeadline(upstreamA.HaltAsync().AsTask());
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

    [Fact]
    public async Task KeysDeletedButTheLeaseKept_TheOwnerConfirmsAgain_EveryIncarnationResyncs()
    {
        await using var cluster = new ClusterHarness();
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        var stream = await cluster.NextStreamAsync();
        var epoch = cluster.Store.EpochOf("test");

        // The Stream's keys go (its events and epoch), the owner's lease and PocketBase stream stay, and both
        // incarnations' entries are published again, with the versions the owner confirmed last, before the owner
        // refreshes its union: each finds the Stream replaced at its next heartbeat.
        var keys = new ClusterKeys("test");
        var entries = cluster.Store.Topics("test");
        cluster.Store.Flush();
        await cluster.Store.SetAsync(keys.Lease, upstreamA.MemberId, cluster.Options.LeaseTime);
        foreach (var (member, entry) in entries)
        {
            await cluster.Store.PublishTopicsAsync(keys, member, entry);
        }

        // The owner confirms them again in the new Stream, although nothing changed: every follower waits for that.
        await cluster.AdvanceUntilAsync(
            () => Volatile.Read(ref onA.Resubscribed) > 0 && Volatile.Read(ref onB.Resubscribed) > 0,
            "both incarnations' Resync for the new Stream",
            cluster.Options.RenewInterval);
        Assert.NotEqual(epoch, cluster.Store.EpochOf("test"));
        await stream.WriteRecordAsync("notes/*", "update", "r1");
        Assert.Equal("r1", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
    }
}
