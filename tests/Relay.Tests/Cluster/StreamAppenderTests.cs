using Relay.Cluster;

namespace Relay.Tests.Cluster;

/// <summary>The one writer of a session's Stream: appends dropped while Redis is away leave one gap entry, in its place.</summary>
public class StreamAppenderTests
{
    private static readonly ClusterKeys Keys = new("test");

    [Fact]
    public async Task DroppedWhileRedisAway_OneGapEntryBeforeTheNextAppend()
    {
        var store = new FakeClusterStore();
        var appender = new StreamAppender(store, Keys, "m", 10_000);
        await appender.AppendAsync(Event("r0"));

        store.IsConnected = false;
        await appender.AppendAsync(Event("lost1"));
        await appender.AppendAsync(Event("lost2"));
        store.IsConnected = true;
        await appender.AppendAsync(Event("r1"));
        await appender.AppendAsync(Event("r2"));

        Assert.Equal(
            [(EntryKinds.Event, "r0"), (EntryKinds.Resync, null), (EntryKinds.Event, "r1"), (EntryKinds.Event, "r2")],
            store.Entries("test").Select(ClusterEntry.Decode).Select(static entry => (entry.Kind, entry.Record is null ? null : entry.RecordElement().GetProperty("id").GetString())));
    }

    [Fact]
    public async Task AppendFailedWhileConnected_OwesAGap_NotDroppedSilently()
    {
        var store = new FakeClusterStore();
        var appender = new StreamAppender(store, Keys, "m", 10_000);
        await appender.AppendAsync(Event("r0"));

        store.FailingAppends = 1;
        await Assert.ThrowsAsync<StackExchange.Redis.RedisTimeoutException>(() => appender.AppendAsync(Event("lost")));
        await appender.AppendAsync(Event("r1"));

        Assert.Equal(
            [EntryKinds.Event, EntryKinds.Resync, EntryKinds.Event],
            store.Entries("test").Select(static entry => ClusterEntry.Decode(entry).Kind));
    }

    [Fact]
    public async Task ConcurrentAppendsAfterAGap_TheGapWrittenOnce_First()
    {
        var store = new FakeClusterStore();
        var appender = new StreamAppender(store, Keys, "m", 10_000);
        store.IsConnected = false;
        await appender.AppendAsync(Event("lost"));
        store.IsConnected = true;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => appender.AppendAsync(Event($"r{i}")))));

        var kinds = store.Entries("test").Select(static entry => ClusterEntry.Decode(entry).Kind).ToArray();
        Assert.Equal(EntryKinds.Resync, kinds[0]);
        Assert.Equal(1, kinds.Count(static kind => kind == EntryKinds.Resync));
        Assert.Equal(21, kinds.Length);
    }

    [Fact]
    public async Task Append_NotifiesTheFollowers_UnlessAskedNotTo()
    {
        var store = new FakeClusterStore();
        var heard = new System.Collections.Concurrent.ConcurrentQueue<char>();
        await using var subscription = await store.SubscribeAsync(Keys, heard.Enqueue);
        var appender = new StreamAppender(store, Keys, "m", 10_000);

        await appender.AppendAsync(ClusterEntry.HandoverBegin("m"), notify: false);
        await appender.AppendAsync(Event("r1"));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (heard.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        await Task.Delay(50);
        Assert.Equal(['e'], heard);
    }

    private static StackExchange.Redis.NameValueEntry[] Event(string id) => ClusterEntry.Event("m", "notes/*", "update", $$"""{"id":"{{id}}"}""");
}
