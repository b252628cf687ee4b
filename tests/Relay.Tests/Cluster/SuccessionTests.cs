using Relay.Cluster;
using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>A handover on its own (no loop): the successor's side (start, ready, owning, the deadline) and the owner's request.</summary>
public class SuccessionTests
{
    [Fact]
    public async Task NoHandover_NotStarted_TheLeaseMayBeTaken()
    {
        await using var cluster = new ClusterHarness();
        var (_, keeper, succession) = await CreateAsync(cluster);

        Assert.False(await succession.TryStartAsync(CancellationToken.None));
        Assert.False(succession.IsSucceeding);
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task OwnHandover_NotSucceededByItself()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await cluster.Store.SetAsync(context.Keys.Handover, context.MemberId, TimeSpan.FromMinutes(1));

        Assert.True(await succession.TryStartAsync(CancellationToken.None));
        Assert.False(succession.IsSucceeding);
        Assert.Null(cluster.Store.Get(context.Keys.Successor));
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task OwnerHandingOver_SuccessorOpensItsStream_ReadyOnceHeld_OwnsOnceHandedOver()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await cluster.Store.SetAsync(context.Keys.Handover, "owner.1", TimeSpan.FromMinutes(1));

        Assert.True(await succession.TryStartAsync(CancellationToken.None));
        Assert.True(succession.IsSucceeding);
        Assert.Equal(context.MemberId, cluster.Store.Get(context.Keys.Successor));
        await cluster.NextStreamAsync();
        await WaitUntilAsync(() => Entries(cluster).Any(static entry => entry.Kind == EntryKinds.HandoverReady), "the successor's ready");
        Assert.Equal(
            [(EntryKinds.HandoverBegin, context.MemberId), (EntryKinds.HandoverReady, context.MemberId)],
            Entries(cluster).Select(static entry => (entry.Kind, entry.Member)));
        Assert.False(keeper.IsOwner);

        // The reader saw the owner's "handover done" naming this incarnation.
        await succession.CompleteAsync();

        Assert.False(succession.IsSucceeding);
        Assert.True(keeper.IsOwner);
        Assert.Null(cluster.Store.Get(context.Keys.Successor));
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task PublishingTheHeldEventsFails_TheKeeperHoldsTheStream_NotOrphaned()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await cluster.Store.SetAsync(context.Keys.Handover, "owner.1", TimeSpan.FromMinutes(1));
        await succession.TryStartAsync(CancellationToken.None);
        var stream = await cluster.NextStreamAsync();
        await stream.WriteRecordAsync("notes/*", "update", "held");
        await WaitUntilAsync(() => succession.HeldCount == 1, "the successor to hold the event back");

        cluster.Store.FailingAppends = 1;
        await Assert.ThrowsAsync<StackExchange.Redis.RedisTimeoutException>(() => WithinDeadline(succession.CompleteAsync()));

        // The lease was passed to it: it owns the stream, so losing the lease or going alone closes it.
        Assert.False(succession.IsSucceeding);
        Assert.True(keeper.Owns);
        await WithinDeadline(keeper.ReleaseAsync());
        Assert.False(keeper.Owns);
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task OwnerNeverLetsGo_SuccessionAbandonedAfterTheHandoverTimeout()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await cluster.Store.SetAsync(context.Keys.Handover, "owner.1", TimeSpan.FromMinutes(1));
        await succession.TryStartAsync(CancellationToken.None);
        await cluster.NextStreamAsync();

        await succession.CheckDeadlineAsync();
        Assert.True(succession.IsSucceeding);
        cluster.Time.Advance(cluster.Options.HandoverTimeout + TimeSpan.FromSeconds(1));
        await WithinDeadline(succession.CheckDeadlineAsync());

        Assert.False(succession.IsSucceeding);
        Assert.False(keeper.IsOwner);
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task HandOver_NotOwning_DoneAtOnce_NothingMarked()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        var done = new TaskCompletionSource();

        await succession.BeginHandoverAsync(done, CancellationToken.None);

        Assert.True(done.Task.IsCompletedSuccessfully);
        Assert.Null(cluster.Store.Get(context.Keys.Handover));
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task HandOver_OwningButNobodyElseFollows_DoneAtOnce()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await keeper.TryTakeAsync(CancellationToken.None);
        await cluster.NextStreamAsync();
        var done = new TaskCompletionSource();

        await succession.BeginHandoverAsync(done, CancellationToken.None);

        Assert.True(done.Task.IsCompletedSuccessfully);
        Assert.Null(cluster.Store.Get(context.Keys.Handover));
        Assert.True(keeper.IsOwner);
        await StopAsync(keeper, succession);
    }

    [Fact]
    public async Task HandoverBegun_Stopped_DoneAtOnce_NotAtTheHandoverTimeout()
    {
        await using var cluster = new ClusterHarness();
        var (context, keeper, succession) = await CreateAsync(cluster);
        await keeper.TryTakeAsync(CancellationToken.None);
        await cluster.NextStreamAsync();
        var other = InstanceTopics.Format(new Relay.Upstream.TopicSnapshot(["notes/*"], 1), cluster.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        await cluster.Store.PublishTopicsAsync(context.Keys, "other.1", other);
        var done = new TaskCompletionSource();
        await succession.BeginHandoverAsync(done, CancellationToken.None);
        Assert.Equal(context.MemberId, cluster.Store.Get(context.Keys.Handover));
        Assert.False(done.Task.IsCompleted);

        await StopAsync(keeper, succession);

        Assert.True(done.Task.IsCompletedSuccessfully);
    }

    private static async Task<(ClusterUpstreamContext Context, LeaseKeeper Keeper, Succession Succession)> CreateAsync(ClusterHarness cluster)
    {
        var subscriber = new FakeSubscriber("token", "notes/*");
        var context = cluster.Context(cluster.AddInstance(), subscriber);
        var entry = InstanceTopics.Format(subscriber.GetTopics(), cluster.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        await cluster.Store.PublishTopicsAsync(context.Keys, context.MemberId, entry);
        var keeper = new LeaseKeeper(context);
        return (context, keeper, new Succession(context, keeper));
    }

    private static async Task StopAsync(LeaseKeeper keeper, Succession succession)
    {
        await WithinDeadline(succession.StopAsync());
        await WithinDeadline(keeper.StopAsync());
    }

    private static ClusterEntry[] Entries(ClusterHarness cluster) => [.. cluster.Store.Entries("test").Select(ClusterEntry.Decode)];
}
