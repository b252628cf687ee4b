using Relay.Cluster;
using Relay.Tests.Upstream;
using Relay.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>Going alone and coming back on its own (no loop): the mode, the own stream, the waiters moving with each switch.</summary>
public class AloneFallbackTests
{
    [Fact]
    public async Task GoAlone_WaitersMoveToTheOwnStream_ResyncOnceItHoldsTheTopics()
    {
        await using var cluster = new ClusterHarness();
        var subscriber = new FakeSubscriber("token", "notes/*");
        using var stopping = new CancellationTokenSource();
        var fallback = new AloneFallback(cluster.Context(cluster.AddInstance(), subscriber), static () => { }, stopping.Token);
        var waiting = fallback.WaitForSyncAsync(subscriber.Version, "notes/*", CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        Assert.True(fallback.GoAlone());
        Assert.False(fallback.GoAlone());
        Assert.Equal(ClusterMode.Alone, fallback.Mode.Kind);
        Assert.NotNull(fallback.Mode.Alone);
        var own = await cluster.NextStreamAsync();

        await WithinDeadline(waiting);
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) == 1, "the Resync of going alone");
        await own.WriteRecordAsync("notes/*", "update", "alone");
        Assert.Equal("alone", (await WithinDeadline(subscriber.Events.Reader.ReadAsync().AsTask())).Record.GetProperty("id").GetString());

        // While alone, a new wait is the own stream's.
        subscriber.SetTopics("notes/*", "tasks/*");
        fallback.RequestSync();
        await WithinDeadline(fallback.WaitForSyncAsync(subscriber.Version, "tasks/*", CancellationToken.None));

        await stopping.CancelAsync();
        await WithinDeadline(fallback.StopAsync());
        Assert.Null(fallback.Mode.Alone);
    }

    [Fact]
    public async Task Returning_KeepsTheOwnStream_UntilTheClusterConfirms_ThenFollowsWithAResync()
    {
        await using var cluster = new ClusterHarness();
        var subscriber = new FakeSubscriber("token", "notes/*");
        using var stopping = new CancellationTokenSource();
        var fallback = new AloneFallback(cluster.Context(cluster.AddInstance(), subscriber), static () => { }, stopping.Token);
        fallback.GoAlone();
        var own = await cluster.NextStreamAsync();
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) == 1, "the Resync of going alone");

        var alone = fallback.Mode.Alone;
        fallback.BeginReturn(subscriber.Version);
        Assert.Equal(ClusterMode.Returning, fallback.Mode.Kind);
        Assert.Same(alone, fallback.Mode.Alone);
        Assert.False(fallback.ReturnConfirmed);

        // Waits now are the cluster's: an older confirmation does not do.
        var waiting = fallback.WaitForSyncAsync(subscriber.Version, null, CancellationToken.None);
        fallback.Complete(subscriber.Version - 1);
        Assert.False(fallback.ReturnConfirmed);
        Assert.False(waiting.IsCompleted);
        fallback.Complete(subscriber.Version);
        Assert.True(fallback.ReturnConfirmed);
        await WithinDeadline(waiting);

        await WithinDeadline(fallback.CompleteReturnAsync());
        Assert.Equal(ModeState.Following, fallback.Mode);
        Assert.Equal(2, Volatile.Read(ref subscriber.Resubscribed));

        // The own stream is closed: what it would read now reaches nobody.
        await own.WriteRecordAsync("notes/*", "update", "late");
        await Task.Delay(50);
        Assert.False(subscriber.Events.Reader.TryRead(out _));

        await stopping.CancelAsync();
        await WithinDeadline(fallback.StopAsync());
    }

    [Fact]
    public async Task RedisLostAgainWhileReturning_TheOwnStreamGoesOn()
    {
        await using var cluster = new ClusterHarness();
        var subscriber = new FakeSubscriber("token", "notes/*");
        using var stopping = new CancellationTokenSource();
        var fallback = new AloneFallback(cluster.Context(cluster.AddInstance(), subscriber), static () => { }, stopping.Token);
        fallback.GoAlone();
        await cluster.NextStreamAsync();
        var alone = fallback.Mode.Alone;

        fallback.BeginReturn(subscriber.Version);
        Assert.True(fallback.GoAlone());

        Assert.Same(alone, fallback.Mode.Alone);
        Assert.False(cluster.PocketBase.Streams.Reader.TryRead(out _));
        await stopping.CancelAsync();
        await WithinDeadline(fallback.StopAsync());
    }

    [Fact]
    public async Task RefusedByTheClustersOwner_OnlyThatTopicsWaiterFails()
    {
        await using var cluster = new ClusterHarness();
        var subscriber = new FakeSubscriber("token", "notes/*", "secret/*");
        using var stopping = new CancellationTokenSource();
        var fallback = new AloneFallback(cluster.Context(cluster.AddInstance(), subscriber), static () => { }, stopping.Token);
        var notes = fallback.WaitForSyncAsync(subscriber.Version, "notes/*", CancellationToken.None);
        var secret = fallback.WaitForSyncAsync(subscriber.Version, "secret/*", CancellationToken.None);

        fallback.FailRefused(["secret/*"], null);

        await Assert.ThrowsAsync<TopicRefusedException>(() => WithinDeadline(secret));
        Assert.False(notes.IsCompleted);
        fallback.Complete(subscriber.Version);
        await WithinDeadline(notes);
        await fallback.StopAsync();
    }
}
