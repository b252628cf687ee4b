using Relay.Cluster;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.IntegrationTests;

/// <summary>
/// The Lua scripts of cluster mode on a real <c>redis-server</c>: whatever another stream incarnation may hold is
/// changed or deleted only after a compare that it is still the caller's own. The in-memory store of the unit tests
/// (tests/Relay.Tests/Cluster/FakeClusterStore.cs) implements these same semantics.
/// </summary>
public sealed class RedisClusterStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly ClusterKeys _keys = new("users/u1");
    private RedisProcess? _redis;
    private ConnectionMultiplexer? _multiplexer;
    private RedisClusterStore _store = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisProcess.StartAsync();
        _multiplexer = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration).DefaultTimeout();
        _store = new RedisClusterStore(() => _multiplexer);
    }

    public async Task DisposeAsync()
    {
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Leave_AnotherLiveEntry_KeepsTheStream_TheLastOne_DeletesIt()
    {
        var now = DateTimeOffset.UtcNow;
        var epoch = await _store.GetOrCreateEpochAsync(_keys).DefaultTimeout();
        await _store.AppendAsync(_keys, ClusterEntry.Resync("old.1"), 100).DefaultTimeout();
        await _store.PublishTopicsAsync(_keys, "old.1", Entry(now.AddMinutes(1))).DefaultTimeout();
        await _store.PublishTopicsAsync(_keys, "new.2", Entry(now.AddMinutes(1))).DefaultTimeout();
        await _store.TryTakeAsync(_keys.Lease, "new.2", Minute).DefaultTimeout();

        Assert.False(await _store.LeaveAsync(_keys, "old.1", now).DefaultTimeout());
        Assert.Equal(epoch, await _store.GetOrCreateEpochAsync(_keys).DefaultTimeout());
        Assert.Equal(["new.2"], (await _store.ReadTopicsAsync(_keys).DefaultTimeout()).Select(static entry => (string)entry.Name!));
        Assert.Equal("new.2", await _store.GetAsync(_keys.Lease).DefaultTimeout());
        Assert.NotNull(await _store.LastEntryAsync(_keys).DefaultTimeout());

        Assert.True(await _store.LeaveAsync(_keys, "new.2", now).DefaultTimeout());
        Assert.Null(await _store.LastEntryAsync(_keys).DefaultTimeout());
        Assert.Empty(await _store.ReadTopicsAsync(_keys).DefaultTimeout());
        Assert.Null(await _store.GetAsync(_keys.Lease).DefaultTimeout());
        Assert.NotEqual(epoch, await _store.GetOrCreateEpochAsync(_keys).DefaultTimeout());
    }

    [Fact]
    public async Task Leave_OnlyExpiredEntriesLeft_DeletesTheStream()
    {
        var now = DateTimeOffset.UtcNow;
        await _store.GetOrCreateEpochAsync(_keys).DefaultTimeout();
        await _store.PublishTopicsAsync(_keys, "crashed.1", Entry(now.AddSeconds(-1))).DefaultTimeout();
        await _store.PublishTopicsAsync(_keys, "leaving.2", Entry(now.AddMinutes(1))).DefaultTimeout();

        Assert.True(await _store.LeaveAsync(_keys, "leaving.2", now).DefaultTimeout());
    }

    [Fact]
    public async Task Publish_ReturnsTheEpochInTheSameStep()
    {
        Assert.Null(await _store.PublishTopicsAsync(_keys, "m.1", Entry(DateTimeOffset.UtcNow.AddMinutes(1))).DefaultTimeout());
        var epoch = await _store.GetOrCreateEpochAsync(_keys).DefaultTimeout();
        Assert.Equal(epoch, await _store.PublishTopicsAsync(_keys, "m.1", Entry(DateTimeOffset.UtcNow.AddMinutes(1))).DefaultTimeout());
    }

    [Fact]
    public async Task RemoveTopicsIfUnchanged_AnEntryWrittenAgainSinceItWasRead_Stays()
    {
        var expired = Entry(DateTimeOffset.UtcNow.AddSeconds(-1));
        await _store.PublishTopicsAsync(_keys, "m.1", expired).DefaultTimeout();
        var fresh = Entry(DateTimeOffset.UtcNow.AddMinutes(1));
        await _store.PublishTopicsAsync(_keys, "m.1", fresh).DefaultTimeout();

        await _store.RemoveTopicsIfUnchangedAsync(_keys, "m.1", expired).DefaultTimeout();
        Assert.Equal(fresh, (string?)(await _store.ReadTopicsAsync(_keys).DefaultTimeout()).Single().Value);

        await _store.RemoveTopicsIfUnchangedAsync(_keys, "m.1", fresh).DefaultTimeout();
        Assert.Empty(await _store.ReadTopicsAsync(_keys).DefaultTimeout());
    }

    [Fact]
    public async Task Lease_OnlyItsHolderRenewsDeletesOrPassesItOn()
    {
        Assert.True(await _store.TryTakeAsync(_keys.Lease, "a.1", Minute).DefaultTimeout());
        Assert.False(await _store.TryTakeAsync(_keys.Lease, "a.2", Minute).DefaultTimeout());
        Assert.False(await _store.RenewAsync(_keys.Lease, "a.2", Minute).DefaultTimeout());
        Assert.True(await _store.RenewAsync(_keys.Lease, "a.1", Minute).DefaultTimeout());

        await _store.DeleteIfHeldAsync(_keys.Lease, "a.2").DefaultTimeout();
        await _store.TransferAsync(_keys.Lease, "a.2", "b.1", Minute).DefaultTimeout();
        Assert.Equal("a.1", await _store.GetAsync(_keys.Lease).DefaultTimeout());

        await _store.TransferAsync(_keys.Lease, "a.1", "b.1", Minute).DefaultTimeout();
        Assert.Equal("b.1", await _store.GetAsync(_keys.Lease).DefaultTimeout());
        await _store.DeleteIfHeldAsync(_keys.Lease, "b.1").DefaultTimeout();
        Assert.Null(await _store.GetAsync(_keys.Lease).DefaultTimeout());
    }

    [Fact]
    public async Task Notify_HeardOnTheSessionsChannelOnly_EachSubscriptionEndsOnItsOwn()
    {
        var other = new ClusterKeys("users/u2");
        var first = System.Threading.Channels.Channel.CreateUnbounded<char>();
        var second = System.Threading.Channels.Channel.CreateUnbounded<char>();
        var subscription = await _store.SubscribeAsync(_keys, kind => first.Writer.TryWrite(kind)).DefaultTimeout();
        await using var secondSubscription = await _store.SubscribeAsync(_keys, kind => second.Writer.TryWrite(kind)).DefaultTimeout();

        await _store.NotifyAsync(other, 't').DefaultTimeout();
        await _store.NotifyAsync(_keys, 'e').DefaultTimeout();
        Assert.Equal('e', await first.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal('e', await second.Reader.ReadAsync().AsTask().DefaultTimeout());

        // One incarnation leaving: the other one on this instance still hears the session's notifications.
        await subscription.DisposeAsync();
        await _store.NotifyAsync(_keys, 'h').DefaultTimeout();
        Assert.Equal('h', await second.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.False(first.Reader.TryRead(out var late), $"Heard after its subscription ended: {late}");
        Assert.False(second.Reader.TryRead(out var stray), $"Heard another session's notification: {stray}");
    }

    [Fact]
    public async Task Stream_AppendReadAfterRangeAndTrim()
    {
        var first = await _store.AppendAsync(_keys, ClusterEntry.Resync("m.1"), 100).DefaultTimeout();
        var second = await _store.AppendAsync(_keys, ClusterEntry.HandoverBegin("m.1"), 100).DefaultTimeout();

        Assert.Equal([second], (await _store.ReadAfterAsync(_keys, first, 10).DefaultTimeout()).Select(static entry => entry.Id));
        Assert.Equal([first, second], (await _store.RangeAsync(_keys, first.ToString(), "+", 10).DefaultTimeout()).Select(static entry => entry.Id));
        Assert.Equal(second, (await _store.LastEntryAsync(_keys).DefaultTimeout())!.Value.Id);

        await _store.TrimOlderThanAsync(_keys, DateTimeOffset.UtcNow.AddMinutes(1)).DefaultTimeout();
        Assert.Null(await _store.LastEntryAsync(_keys).DefaultTimeout());
    }

    /// <summary>
    /// Found by ClusterChaosTests (a 3 s cut between the owner and Redis): the cut-off owner's appends waited in its
    /// socket and landed after another instance had taken the lease and sent its Resync, so followers delivered those
    /// events a second time after the Resync.
    /// </summary>
    [Fact]
    public async Task AppendEvent_OfAMemberWhoseLeaseAnotherTookOver_IsDropped_ControlEntriesAreNot()
    {
        Assert.False((await _store.AppendAsync(_keys, ClusterEntry.Event("old.1", "notes/*", "create", "{}"), 100).DefaultTimeout()).IsNull);
        Assert.True(await _store.TryTakeAsync(_keys.Lease, "old.1", Minute).DefaultTimeout());
        Assert.False((await _store.AppendAsync(_keys, ClusterEntry.Event("old.1", "notes/*", "update", "{}"), 100).DefaultTimeout()).IsNull);

        // The lease expired while old.1 was cut off, and new.2 took it over.
        await _store.DeleteIfHeldAsync(_keys.Lease, "old.1").DefaultTimeout();
        Assert.True(await _store.TryTakeAsync(_keys.Lease, "new.2", Minute).DefaultTimeout());
        var late = await _store.AppendAsync(_keys, ClusterEntry.Event("old.1", "notes/*", "delete", "{}"), 100).DefaultTimeout();
        var owners = await _store.AppendAsync(_keys, ClusterEntry.Event("new.2", "notes/*", "delete", "{}"), 100).DefaultTimeout();
        var marker = await _store.AppendAsync(_keys, ClusterEntry.HandoverBegin("next.3"), 100).DefaultTimeout();

        Assert.True(late.IsNull);
        Assert.False(owners.IsNull);
        Assert.False(marker.IsNull);
        var entries = (await _store.RangeAsync(_keys, "-", "+", 10).DefaultTimeout()).Select(static entry => ClusterEntry.Decode(entry)).ToList();
        Assert.Equal(["old.1 create", "old.1 update", "new.2 delete", "next.3 "], entries.Select(static entry => $"{entry.Member} {entry.Action}"));
    }

    private static string Entry(DateTimeOffset expiresAt) => InstanceTopics.Format(new TopicSnapshot(["notes/*"], 1), expiresAt);
}
