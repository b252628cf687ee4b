using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>
/// How appends reach the followers: a notification on the session's own channel makes them read at once; a read
/// unasked once per LeaseTime is only the safety net for a notification lost.
/// </summary>
public class ClusterNotificationTests
{
    [Fact]
    public async Task Append_ReachesTheFollowerOnItsNotification_WithClusterTimeStandingStill()
    {
        await using var cluster = new ClusterHarness();
        var (onB, stream) = await FollowOnTwoInstancesAsync(cluster);

        await stream.WriteRecordAsync("notes/*", "update", "r1");

        // No tick of the loop's timer: only the notification can have woken B's read.
        Assert.Equal("r1", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task NotificationLost_FollowerReadsOnItsSafetyPoll_NotOnEveryTick()
    {
        await using var cluster = new ClusterHarness();
        var (onB, stream) = await FollowOnTwoInstancesAsync(cluster);
        cluster.Store.LoseNotifications = true;
        var reads = cluster.Store.StreamReads;

        await stream.WriteRecordAsync("notes/*", "update", "r1");
        await cluster.AdvanceUntilAsync(() => cluster.Store.Entries("test").Any(entry => entry[EntryFields.Kind] == EntryKinds.Event), "the owner's append");

        // Three ticks of both loops (RenewInterval 0.5 s, LeaseTime 3 s): leases are renewed, the Stream is not read.
        for (var i = 0; i < 3; i++)
        {
            cluster.Time.Advance(cluster.Options.RenewInterval);
            await Task.Delay(50);
        }

        Assert.False(onB.Events.Reader.TryRead(out _), "Read on a tick of the timer although nothing was notified.");
        Assert.True(cluster.Store.StreamReads - reads <= 2, $"{cluster.Store.StreamReads - reads} reads in 1.5 s unasked (at most one per instance per LeaseTime).");

        // Within one LeaseTime the safety net reads it.
        await cluster.AdvanceUntilAsync(() => onB.Events.Reader.Count > 0, "the safety net's read", cluster.Options.RenewInterval);
        Assert.Equal("r1", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Notifications_HeardByTheSessionsIncarnationsOnly_UntilEachHasLeft()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        Assert.Equal(0, cluster.Store.Listeners("test"));

        var first = new FakeSubscriber("token", "notes/*");
        var old = cluster.Follow(node, first);
        await WithinDeadline(old.WaitForSyncAsync(first.Version, CancellationToken.None));
        await cluster.NextStreamAsync();
        Assert.Equal(1, cluster.Store.Listeners("test"));

        // The session recreated on the same instance: both incarnations listen on the one channel.
        var second = new FakeSubscriber("token", "notes/*");
        var recreated = cluster.Follow(node, second);
        await cluster.AdvanceUntilAsync(() => cluster.Store.Listeners("test") == 2, "the new incarnation listening");

        // The old one leaving ends its own subscription only: the new one still hears of appends.
        var leaving = old.DisposeAsync().AsTask();
        await cluster.PassTheOverlapAsync(old);
        await WithinDeadline(leaving);
        Assert.Equal(1, cluster.Store.Listeners("test"));
        var synced = recreated.WaitForSyncAsync(second.Version, CancellationToken.None);
        await cluster.AdvanceUntilAsync(() => synced.IsCompleted && recreated.IsOwner, "the new incarnation owning the stream, its topics confirmed");
        await synced;

        // Its PocketBase stream (a successor's, or a takeover's after the lease): time stands still from here.
        var current = await cluster.NextStreamAsync();
        await current.WriteRecordAsync("notes/*", "update", "r1");
        Assert.Equal("r1", (await WithinDeadline(second.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());

        await WithinDeadline(recreated.DisposeAsync().AsTask());
        Assert.Equal(0, cluster.Store.Listeners("test"));
    }

    private static async Task<(FakeSubscriber OnB, FakePocketBase.SseStream Stream)> FollowOnTwoInstancesAsync(ClusterHarness cluster)
    {
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        Assert.False(upstreamB.IsOwner);
        return (onB, await cluster.NextStreamAsync());
    }
}
