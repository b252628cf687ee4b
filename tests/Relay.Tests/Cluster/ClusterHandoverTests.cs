using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>
/// A graceful handover under changes, on the owners together: PocketBase sends a change to each stream on its own, so
/// one made just before the successor's subscriptions were accepted reaches only the old owner's stream, maybe late.
/// </summary>
public class ClusterHandoverTests
{
    [Fact]
    public async Task SuccessorReady_AChangeStillOnItsWayOnTheOldStreamOnly_DeliveredOnce_NoResync()
    {
        await using var cluster = new ClusterHarness();
        var (onB, upstreamA, upstreamB, old) = await TwoInstancesAsync(cluster);

        var handingOver = upstreamA.HandOverAsync();
        var successor = await cluster.NextStreamAsync();

        // The owner has read the successor's ready (cluster time standing still). The change was made before the
        // successor's subscriptions were accepted: PocketBase sends it on the old stream only, and it arrives now.
        await WaitUntilAsync(() => upstreamA.IsLettingGo, "the owner to see its successor ready");
        await old.WriteRecordAsync("notes/*", "update", "in-transit");
        await successor.WriteRecordAsync("notes/*", "update", "both");
        await old.WriteRecordAsync("notes/*", "update", "both");

        await cluster.AdvanceUntilAsync(() => handingOver.IsCompleted, "the handover");
        await WithinDeadline(handingOver);
        await WaitUntilAsync(() => upstreamB.IsOwner, "B to read the handover done");
        await successor.WriteRecordAsync("notes/*", "update", "after");

        Assert.Equal("in-transit", await NextIdAsync(onB));
        Assert.Equal("both", await NextIdAsync(onB));
        Assert.Equal("after", await NextIdAsync(onB));
        Assert.False(onB.Events.Reader.TryRead(out var extra), $"Delivered twice: {extra.Record}");
        Assert.Equal(0, onB.Resubscribed);
    }

    [Fact]
    public async Task SuccessorReady_TheOwnerKeepsItsStreamForTheOverlap_ThenLetsGo()
    {
        await using var cluster = new ClusterHarness();
        var (_, upstreamA, upstreamB, _) = await TwoInstancesAsync(cluster);

        var handingOver = upstreamA.HandOverAsync();
        await cluster.NextStreamAsync();
        await WaitUntilAsync(() => upstreamA.IsLettingGo, "the owner to see its successor ready");
        Assert.True(upstreamA.IsOwner, "Let go at once: a change still on its way on the old stream is lost.");
        Assert.False(HasEntry(cluster, EntryKinds.HandoverDone));

        cluster.Time.Advance(cluster.Options.HandoverOverlap);
        await WaitUntilAsync(() => handingOver.IsCompleted, "the owner to let go once the overlap is over");
        await WithinDeadline(handingOver);
        Assert.False(upstreamA.IsOwner);
        await WaitUntilAsync(() => upstreamB.IsOwner, "B to read the handover done");
    }

    [Fact]
    public async Task SuccessorGoesDuringTheOverlap_OwnerKeepsTheStream_AnotherSucceeds_NoResync()
    {
        await using var cluster = new ClusterHarness();
        var (_, upstreamA, upstreamB, _) = await TwoInstancesAsync(cluster);
        var handingOver = upstreamA.HandOverAsync();
        await cluster.NextStreamAsync();
        await WaitUntilAsync(() => upstreamA.IsLettingGo, "the owner to see B ready");

        // A third instance follows; then B's session closes there (or its instance stops) during the overlap.
        var onC = new FakeSubscriber("token", "notes/*");
        var upstreamC = cluster.Follow(cluster.AddInstance(), onC);
        await WithinDeadline(upstreamC.WaitForSyncAsync(onC.Version, CancellationToken.None));
        await WithinDeadline(upstreamB.DisposeAsync().AsTask());

        // A lets go to C once C is ready, not to B: handed to B, the lease would expire and C take it over with a Resync.
        await cluster.AdvanceUntilAsync(() => cluster.PocketBase.Streams.Reader.Count > 0, "C opening its stream as the successor");
        var successor = await cluster.NextStreamAsync();
        await cluster.AdvanceUntilAsync(() => handingOver.IsCompleted, "the handover to C");
        await WithinDeadline(handingOver);
        await WaitUntilAsync(() => upstreamC.IsOwner, "C to read the handover done");
        await successor.WriteRecordAsync("notes/*", "update", "after");
        Assert.Equal("after", await NextIdAsync(onC));
        Assert.Equal(0, onC.Resubscribed);
    }

    [Fact]
    public async Task OwnerDiesDuringTheHandover_SuccessorTakesOverOnceItsLeaseExpires_WithAResync_NotAtTheHandoverTimeout()
    {
        await using var cluster = new ClusterHarness();
        var (onB, upstreamA, upstreamB, _) = await TwoInstancesAsync(cluster);
        _ = upstreamA.HandOverAsync();
        await cluster.NextStreamAsync();
        await WaitUntilAsync(() => upstreamA.IsLettingGo, "the owner to see its successor ready");

        // Its process ends under the handover (kill -9, or torn down before it let go): no word to Redis.
        await WithinDeadline(upstreamA.HaltAsync().AsTask());
        var diedAt = cluster.Time.GetUtcNow();
        await cluster.AdvanceUntilAsync(() => upstreamB.IsOwner, "B to take the stream over");

        // Before: B waited for its succession's deadline (HandoverTimeout) while nobody published, and nobody resynced.
        Assert.True(cluster.Time.GetUtcNow() - diedAt < cluster.Options.HandoverTimeout, $"taken over {cluster.Time.GetUtcNow() - diedAt} after the owner died");
        var stream = await cluster.NextStreamAsync();
        await cluster.AdvanceUntilAsync(() => onB.Resubscribed > 0, "B's connections to resync (what was lost meanwhile)");
        await stream.WriteRecordAsync("notes/*", "update", "after");
        Assert.Equal("after", await NextIdAsync(onB));
    }

    [Fact]
    public async Task Sigterm_NobodyElseFollowsYet_TheDrainedConnectionsFollowOnAnotherInstance_HandedOverBeforeStopReturns()
    {
        await using var cluster = new ClusterHarness();
        var a = cluster.AddInstance();
        var onA = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        await cluster.NextStreamAsync();
        Assert.True(upstreamA.IsOwner);

        var stopping = a.StopAsync(CancellationToken.None);
        // Its connections, told to reconnect elsewhere, land on B and follow the stream there.
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamB = cluster.Follow(cluster.AddInstance(), onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        await cluster.AdvanceUntilAsync(() => stopping.IsCompleted, "A's stop");

        // Before: the stop returned at once (nothing to hand over at SIGTERM), and the stream was handed over, if at
        // all, when the session closed, under the process's end.
        Assert.False(upstreamA.IsOwner, "A's stop returned while A still owned the stream B follows.");
        await WaitUntilAsync(() => upstreamB.IsOwner, "B to read the handover done");
        var successor = await cluster.NextStreamAsync();
        await successor.WriteRecordAsync("notes/*", "update", "after");
        Assert.Equal("after", await NextIdAsync(onB));
        Assert.Equal(0, onB.Resubscribed);
    }

    private static async Task<(FakeSubscriber OnB, ClusterUpstream A, ClusterUpstream B, FakePocketBase.SseStream Old)> TwoInstancesAsync(ClusterHarness cluster)
    {
        var (a, b) = (cluster.AddInstance(), cluster.AddInstance());
        var onA = new FakeSubscriber("token", "notes/*");
        var onB = new FakeSubscriber("token", "notes/*");
        var upstreamA = cluster.Follow(a, onA);
        await WithinDeadline(upstreamA.WaitForSyncAsync(onA.Version, CancellationToken.None));
        var upstreamB = cluster.Follow(b, onB);
        await WithinDeadline(upstreamB.WaitForSyncAsync(onB.Version, CancellationToken.None));
        var old = await cluster.NextStreamAsync();
        Assert.True(upstreamA.IsOwner);
        return (onB, upstreamA, upstreamB, old);
    }

    private static bool HasEntry(ClusterHarness cluster, string kind)
        => cluster.Store.Entries("test").Select(ClusterEntry.Decode).Any(entry => entry.Kind == kind);

    private static async Task<string?> NextIdAsync(FakeSubscriber subscriber)
        => (await WithinDeadline(subscriber.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString();
}
