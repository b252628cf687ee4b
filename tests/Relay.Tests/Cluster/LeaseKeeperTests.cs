using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>The lease of a session stream on its own (no loop): taking it, a takeover's Resync, its loss, the confirmation.</summary>
public class LeaseKeeperTests
{
    [Fact]
    public async Task LeaseHeldByAnother_NotTaken_NoStreamOpened()
    {
        await using var cluster = new ClusterHarness();
        var context = await PublishedAsync(cluster, new FakeSubscriber("token", "notes/*"));
        var keeper = new LeaseKeeper(context);
        await cluster.Store.SetAsync(context.Keys.Lease, "other.1", TimeSpan.FromMinutes(1));

        await keeper.TryTakeAsync(CancellationToken.None);

        Assert.False(keeper.IsOwner);
        Assert.False(cluster.PocketBase.Streams.Reader.TryRead(out _));
        await keeper.StopAsync();
    }

    [Fact]
    public async Task FreeLease_LastEntryOwn_NoResync_TopicsConfirmedOnceHeld()
    {
        await using var cluster = new ClusterHarness();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var context = await PublishedAsync(cluster, subscriber);
        var keeper = new LeaseKeeper(context);

        await keeper.TryTakeAsync(CancellationToken.None);
        Assert.True(keeper.IsOwner);
        Assert.Equal(context.MemberId, cluster.Store.Get(context.Keys.Lease));
        await cluster.NextStreamAsync();

        // The owner's own union refresh (the loop's, after taking the lease) confirms the incarnation's version.
        await keeper.RefreshIfDueAsync(CancellationToken.None);
        await WaitUntilAsync(() => Kinds(cluster).Contains(EntryKinds.Applied), "the applied entry");
        var applied = cluster.Store.Entries("test").Select(ClusterEntry.Decode).Single(static entry => entry.Kind == EntryKinds.Applied);
        Assert.Equal(subscriber.Version, ClusterEntry.VersionOf(applied.Versions, context.MemberId));
        Assert.DoesNotContain(EntryKinds.Resync, Kinds(cluster));
        await keeper.StopAsync();
    }

    [Fact]
    public async Task FreeLease_AnotherOwnerPublishedLast_TakeoverResyncOnceTheStreamHoldsTheTopics()
    {
        await using var cluster = new ClusterHarness();
        var context = await PublishedAsync(cluster, new FakeSubscriber("token", "notes/*"));
        await cluster.Store.AppendAsync(context.Keys, ClusterEntry.Event("crashed.1", "notes/*", "update", """{"id":"r0"}"""), 10_000);
        var posted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.PocketBase.BeforePostAnswered = (_, _) => posted.Task;
        var keeper = new LeaseKeeper(context);
        try
        {
            await keeper.TryTakeAsync(CancellationToken.None);
            await cluster.NextStreamAsync();
            await Task.Delay(50);

            // Not before PocketBase holds the topics: a client refetching earlier could miss a change made meanwhile.
            Assert.DoesNotContain(EntryKinds.Resync, Kinds(cluster));
            posted.TrySetResult();
            await WaitUntilAsync(() => Kinds(cluster).Contains(EntryKinds.Resync), "the takeover's Resync");
            Assert.Equal(context.MemberId, cluster.Store.Entries("test").Select(ClusterEntry.Decode).Last(static entry => entry.Kind == EntryKinds.Resync).Member);
        }
        finally
        {
            posted.TrySetResult();
            await keeper.StopAsync();
        }
    }

    [Fact]
    public async Task LeaseLost_RenewFails_StreamClosed_NotOwner()
    {
        await using var cluster = new ClusterHarness();
        var context = await PublishedAsync(cluster, new FakeSubscriber("token", "notes/*"));
        var keeper = new LeaseKeeper(context);
        await keeper.TryTakeAsync(CancellationToken.None);
        var stream = await cluster.NextStreamAsync();
        await keeper.RenewAsync(CancellationToken.None);
        Assert.True(keeper.IsOwner);

        // Paused past the lease time: the lease expired and another incarnation took it.
        cluster.Time.Advance(cluster.Options.LeaseTime + TimeSpan.FromSeconds(1));
        await cluster.Store.TryTakeAsync(context.Keys.Lease, "other.1", cluster.Options.LeaseTime);
        await keeper.RenewAsync(CancellationToken.None);

        Assert.False(keeper.IsOwner);
        Assert.False(keeper.Owns);
        Assert.Equal("other.1", cluster.Store.Get(context.Keys.Lease));

        // Its PocketBase stream is closed: what it would read now is not appended.
        await stream.WriteRecordAsync("notes/*", "update", "late");
        await Task.Delay(50);
        Assert.DoesNotContain(EntryKinds.Event, Kinds(cluster));
        await keeper.StopAsync();
    }

    [Fact]
    public async Task LeaseLost_NobodyTookIt_TakenBackByTheSameIncarnation_TakeoverResync()
    {
        // Cut off from Redis longer than the lease: the lease expired, the PocketBase stream was closed, nobody else
        // took over. What PocketBase sent until this incarnation's new stream holds the topics is lost, although the
        // Stream's last entry is its own (found by ClusterChaosTests' 3 s cut; ClusterLeaseRetakeTests live).
        await using var cluster = new ClusterHarness();
        var context = await PublishedAsync(cluster, new FakeSubscriber("token", "notes/*"));
        var keeper = new LeaseKeeper(context);
        try
        {
            await keeper.TryTakeAsync(CancellationToken.None);
            var stream = await cluster.NextStreamAsync();
            await stream.WriteRecordAsync("notes/*", "update", "r1");
            await WaitUntilAsync(() => Kinds(cluster).Contains(EntryKinds.Event), "the owner's event");

            cluster.Time.Advance(cluster.Options.LeaseTime + TimeSpan.FromSeconds(1));
            await keeper.RenewAsync(CancellationToken.None);
            Assert.False(keeper.Owns);
            Assert.Null(cluster.Store.Get(context.Keys.Lease));

            await keeper.TryTakeAsync(CancellationToken.None);
            Assert.True(keeper.IsOwner);
            await cluster.NextStreamAsync();
            await WaitUntilAsync(() => Kinds(cluster).Contains(EntryKinds.Resync), "the Resync of a lease taken back after its loss");
        }
        finally
        {
            await keeper.StopAsync();
        }
    }

    private static async Task<ClusterUpstreamContext> PublishedAsync(ClusterHarness cluster, FakeSubscriber subscriber)
    {
        var context = cluster.Context(cluster.AddInstance(), subscriber);
        var entry = InstanceTopics.Format(subscriber.GetTopics(), cluster.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        await cluster.Store.PublishTopicsAsync(context.Keys, context.MemberId, entry);
        return context;
    }

    private static string?[] Kinds(ClusterHarness cluster) => [.. cluster.Store.Entries("test").Select(static entry => ClusterEntry.Decode(entry).Kind)];
}
