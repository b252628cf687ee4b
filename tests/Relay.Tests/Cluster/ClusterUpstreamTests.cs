using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>
/// A session stream in cluster mode, on an in-memory store and a fake PocketBase with cluster time faked: ownership,
/// confirmation, takeover, handover, Redis outages and a session recreated while its previous incarnation shuts down.
/// </summary>
public class ClusterUpstreamTests
{
    [Fact]
    public async Task Stopped_TheHostDisposesRedisBeforeTheSessions_TheLoopEndsWithoutLoggingAFailure()
    {
        // The host disposes singletons in the reverse order of their creation: the Redis connection (made after the
        // sessions' manager) before the sessions and their streams' loops. Seen in the cluster chaos runs as
        // "Cluster: the loop of ... failed. ObjectDisposedException" at Error, once per pass until the process ended.
        await using var cluster = new ClusterHarness();
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger();
        var node = new ClusterNode(cluster.Store, cluster.Options, TimeSpan.FromMinutes(2), cluster.Time, logger);
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Follow(node, subscriber);
        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        await cluster.NextStreamAsync();
        var stopping = node.StopAsync(CancellationToken.None);
        await cluster.AdvanceUntilAsync(() => stopping.IsCompleted, "the node's stop");

        cluster.Store.Disposed = true;
        for (var pass = 0; pass < 5; pass++)
        {
            cluster.Time.Advance(cluster.Options.RenewInterval);
            await Task.Delay(20);
        }

        cluster.Store.Disposed = false;
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), static record => record.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task OneInstance_OwnsTheStream_ConfirmsTheTopics_EventsCarryOffsets()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Follow(node, subscriber);

        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        Assert.True(upstream.IsOwner);
        var stream = await cluster.NextStreamAsync();
        await stream.WriteRecordAsync("notes/*", "create", "r1");

        var received = await WithinDeadline(subscriber.Events.Reader.ReadAsync().AsTask());
        Assert.Equal("r1", received.Record.GetProperty("id").GetString());
        Assert.StartsWith(cluster.Store.EpochOf("test") + "-", received.LogOffset, StringComparison.Ordinal);
        Assert.Equal(0, subscriber.Resubscribed);
    }

    [Fact]
    public async Task LeaseTakenAway_OwnerClosesItsStream()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Follow(node, subscriber);
        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        await cluster.NextStreamAsync();

        // The lease expired while this instance was paused, and another took it.
        await cluster.Store.SetAsync(new ClusterKeys("test").Lease, "other.1", TimeSpan.FromMinutes(1));
        await cluster.AdvanceUntilAsync(() => !upstream.IsOwner, "the lease loss to be noticed");

        Assert.Equal(0, node.OwnedCount);
        Assert.Equal("other.1", cluster.Store.Get(new ClusterKeys("test").Lease));

        // It does not take the stream back while the other holds the lease.
        cluster.Time.Advance(cluster.Options.LeaseTime / 2);
        await Task.Delay(50);
        Assert.False(upstream.IsOwner);
    }

    [Fact]
    public async Task OwnerCrashed_FollowerTakesOverAfterTheLease_AndResyncs()
    {
        await using var cluster = new ClusterHarness();
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        Assert.True(upstreamA.IsOwner);
        Assert.False(upstreamB.IsOwner);
        await cluster.NextStreamAsync();

        await a.HaltAsync();
        await cluster.AdvanceUntilAsync(() => upstreamB.IsOwner, "B to take the lease over");
        var stream = await cluster.NextStreamAsync();
        await cluster.AdvanceUntilAsync(() => Volatile.Read(ref onB.Resubscribed) > 0, "B's Resync");

        await stream.WriteRecordAsync("notes/*", "update", "r1");
        Assert.Equal("r1", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task OwnerHandsOver_FollowerSucceedsWithoutResync_NothingLostNothingTwice()
    {
        await using var cluster = new ClusterHarness();
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        var old = await cluster.NextStreamAsync();
        await old.WriteRecordAsync("notes/*", "update", "before");
        Assert.Equal("before", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());

        // A handover runs on notifications alone: cluster time stands still but for the overlap A reads its stream for once
        // B is ready, so neither A's HandoverTimeout nor B's succession deadline can pass while a loaded machine is slow.
        var handingOver = upstreamA.HandOverAsync();
        var successor = await cluster.NextStreamAsync();
        await cluster.PassTheOverlapAsync(upstreamA);
        await WithinDeadline(handingOver);
        Assert.False(upstreamA.IsOwner);

        // A is done once it has appended "handover done"; B owns the stream once it has read that entry.
        await WaitUntilAsync(() => upstreamB.IsOwner, "B to read the handover done");
        await successor.WriteRecordAsync("notes/*", "update", "after");
        Assert.Equal("after", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
        Assert.False(onB.Events.Reader.TryRead(out var extra), $"Delivered twice: {extra.Record}");
        Assert.Equal(0, onB.Resubscribed);
    }

    [Fact]
    public async Task RedisUnreachable_RunsAlone_BackInTheClusterOnceConfirmed_ResyncEachWay()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Follow(node, subscriber);
        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        await cluster.NextStreamAsync();

        cluster.Store.IsConnected = false;
        await cluster.AdvanceUntilAsync(() => !upstream.FollowsStream, "going alone");
        var own = await cluster.NextStreamAsync();
        await cluster.AdvanceUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) >= 1, "the Resync once the own stream holds the topics");
        await own.WriteRecordAsync("notes/*", "update", "alone");
        var alone = await WithinDeadline(subscriber.Events.Reader.ReadAsync().AsTask());
        Assert.Equal("alone", alone.Record.GetProperty("id").GetString());
        Assert.Null(alone.LogOffset);

        var whileAlone = Volatile.Read(ref subscriber.Resubscribed);
        cluster.Store.IsConnected = true;
        await cluster.AdvanceUntilAsync(() => upstream.FollowsStream, "the return");

        // Back on the cluster's stream is a switch too: another Resync, sent once the stream follows the cluster again
        // (so the refetch it starts is followed by the cluster's events) and its own stream is closed.
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) > whileAlone, "the Resync of the return");
        Assert.True(upstream.FollowsStream);
        Assert.True(upstream.IsOwner);
    }

    [Fact]
    public async Task RedisRestartedEmpty_StreamDrawsANewEpoch_AndResyncs()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Follow(node, subscriber);
        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        var epoch = upstream.LogHead!.Value.Epoch;

        cluster.Store.Flush();
        await cluster.AdvanceUntilAsync(() => upstream.LogHead is { } head && head.Epoch != epoch, "a new epoch", cluster.Options.LeaseTime);

        // Offsets of the lost Stream no longer hold: the connections resync, once reading has moved to the new Stream and
        // a PocketBase stream holds their topics again (the lease went with the keys: this instance takes it again).
        await cluster.AdvanceUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) >= 1, "the Resync for the new epoch");
    }

    [Fact]
    public async Task SessionRecreatedWhileTheOldOneHandsOver_TheNewOneSucceedsIt_KeysAndTopicsKept()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var first = new FakeSubscriber("token", "notes/*");
        var old = cluster.Follow(node, first);
        await WithinDeadline(old.WaitForSyncAsync(first.Version, CancellationToken.None));
        await cluster.NextStreamAsync();
        var epoch = cluster.Store.EpochOf("test");

        // Another instance (crashed, its entry not yet expired) makes the closing session hand over.
        var keys = new ClusterKeys("test");
        await cluster.Store.PublishTopicsAsync(keys, "crashed.1", InstanceTopics.Format(new Relay.Upstream.TopicSnapshot(["x/*"], 1), cluster.Time.GetUtcNow().AddSeconds(2)));
        var closing = old.DisposeAsync().AsTask();
        await cluster.AdvanceUntilAsync(() => cluster.Store.Get(keys.Handover) is not null, "the old incarnation handing over");

        // The user is back on this instance: a new incarnation of the same session stream.
        var second = new FakeSubscriber("token", "notes/*");
        var recreated = cluster.Follow(node, second);
        Assert.NotEqual(old.MemberId, recreated.MemberId);
        await WithinDeadline(recreated.WaitForSyncAsync(second.Version, CancellationToken.None));

        // Cluster time stands still but for the overlap: the old incarnation's HandoverTimeout cannot pass, so it leaves by
        // handing over.
        await cluster.PassTheOverlapAsync(old);
        await WithinDeadline(closing);

        // The old incarnation is done once it has appended "handover done"; the new one owns once it has read it.
        await WaitUntilAsync(() => recreated.IsOwner, "the new incarnation to read the handover done");
        Assert.Equal(0, second.Resubscribed);
        Assert.Contains(recreated.MemberId, cluster.Store.Topics("test").Keys);
        Assert.DoesNotContain(old.MemberId, cluster.Store.Topics("test").Keys);
        Assert.Equal(epoch, cluster.Store.EpochOf("test"));
        var stream = await cluster.NextStreamAsync();
        await stream.WriteRecordAsync("notes/*", "update", "r1");
        Assert.Equal("r1", (await WithinDeadline(second.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task LastIncarnationLeaves_StreamKeysDeleted_OneStillFollowing_Kept()
    {
        await using var cluster = new ClusterHarness();
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        var epoch = cluster.Store.EpochOf("test");

        var leavingB = upstreamB.DisposeAsync().AsTask();
        await cluster.AdvanceUntilAsync(() => leavingB.IsCompleted, "B leaving");
        await leavingB;
        Assert.Equal(epoch, cluster.Store.EpochOf("test"));
        Assert.Equal([upstreamA.MemberId], cluster.Store.Topics("test").Keys);

        var leavingA = upstreamA.DisposeAsync().AsTask();
        await cluster.AdvanceUntilAsync(() => leavingA.IsCompleted, "A leaving");
        await leavingA;
        Assert.Empty(cluster.Store.Topics("test"));
        Assert.Empty(cluster.Store.Entries("test"));
        Assert.NotEqual(epoch, cluster.Store.EpochOf("test"));
    }

    [Fact]
    public async Task FollowerBehindByMoreThanOneRead_CatchesUpInOrder()
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

        const int Count = 1_200;
        for (var i = 0; i < Count; i++)
        {
            await stream.WriteRecordAsync("notes/*", "update", $"r{i}");
        }

        for (var i = 0; i < Count; i++)
        {
            Assert.Equal($"r{i}", (await WithinDeadline(onB.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task TwoIncarnationsOnOneInstance_TheOldOnesConfirmationDoesNotConfirmTheNewOne()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var first = new FakeSubscriber("token", "notes/*");
        for (var i = 0; i < 39; i++)
        {
            first.SetTopics("notes/*");
        }

        var old = cluster.Follow(node, first);
        await WithinDeadline(old.WaitForSyncAsync(first.Version, CancellationToken.None));
        Assert.Equal(40, first.Version);

        // PocketBase does not hold the new incarnation's topic yet (its POST hangs).
        var posted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.PocketBase.BeforePostAnswered = (_, _) => posted.Task;
        var second = new FakeSubscriber("token", "announcements/*");
        try
        {
            var recreated = cluster.Follow(node, second);
            var waiting = recreated.WaitForSyncAsync(second.Version, CancellationToken.None);
            await cluster.AdvanceUntilAsync(() => recreated.LogHead is not null, "the new incarnation reading the Stream");

            // The old incarnation confirms its own version 40, as it did before the new one published.
            await cluster.Store.AppendAsync(new ClusterKeys("test"), ClusterEntry.Applied(old.MemberId, $"{old.MemberId}=40"), 10_000);
            await cluster.Store.NotifyAsync(new ClusterKeys("test"), 'e');
            for (var i = 0; i < 5; i++)
            {
                cluster.Time.Advance(cluster.Options.RenewInterval);
                await Task.Delay(20);
            }

            Assert.False(waiting.IsCompleted, "Confirmed although PocketBase does not hold the topic.");
            posted.TrySetResult();
            await cluster.AdvanceUntilAsync(() => waiting.IsCompleted, "the owner's confirmation once PocketBase holds the topic");
            await waiting;
        }
        finally
        {
            // A hanging POST would hold the streams' shutdown.
            posted.TrySetResult();
        }
    }
}
