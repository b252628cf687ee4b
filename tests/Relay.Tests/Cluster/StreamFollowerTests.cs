using Relay.Cluster;

namespace Relay.Tests.Cluster;

/// <summary>
/// The follower of a session's Redis Stream on its own, on an in-memory store: where it starts, how it catches up, what
/// it keeps for replays, and a position of another epoch.
/// </summary>
public class StreamFollowerTests
{
    private static readonly ClusterKeys Keys = new("test");

    [Fact]
    public async Task StartFromEnd_ReadsOnlyWhatIsAppendedAfter()
    {
        var store = new FakeClusterStore();
        await AppendEventsAsync(store, 3);
        var follower = new StreamFollower(store, Keys);

        await follower.StartFromEndAsync(CancellationToken.None);
        var seen = new List<string?>();
        await follower.ReadAsync(Collect(seen), CancellationToken.None);
        Assert.Empty(seen);

        await AppendEventsAsync(store, 1, from: 3);
        await follower.ReadAsync(Collect(seen), CancellationToken.None);
        Assert.Equal(["r3"], seen);
    }

    [Fact]
    public async Task FarBehind_CatchesUpInOrder_InBatches_HeadAtTheLastEntry()
    {
        var store = new FakeClusterStore();
        var follower = new StreamFollower(store, Keys);
        await follower.StartFromEndAsync(CancellationToken.None);
        await AppendEventsAsync(store, 1_200);
        var reads = store.StreamReads;

        var seen = new List<string?>();
        await follower.ReadAsync(Collect(seen), CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 1_200).Select(static i => $"r{i}"), seen);
        Assert.Equal(3, store.StreamReads - reads);
        Assert.Equal((store.EpochOf("test"), store.Entries("test")[^1].Id.ToString()), follower.Head);
    }

    [Fact]
    public async Task Entry_OffsetNamesTheEpoch_HeadMovesOnlyOnceTheSessionHasIt()
    {
        var store = new FakeClusterStore();
        var follower = new StreamFollower(store, Keys);
        await follower.StartFromEndAsync(CancellationToken.None);
        var start = follower.Head;
        var id = await store.AppendAsync(Keys, ClusterEntry.Event("m", "notes/*", "create", """{"id":"r1"}"""), 100);

        (string, string)? headWhileApplying = null;
        string? offset = null;
        await follower.ReadAsync(
            (_, entryOffset) =>
            {
                headWhileApplying = follower.Head;
                offset = entryOffset;
                return Task.CompletedTask;
            },
            CancellationToken.None);

        // A replay bounded by the head must not count an entry the session has not seen yet.
        Assert.Equal(start, headWhileApplying);
        Assert.Equal($"{store.EpochOf("test")}-{id}", offset);
        Assert.Equal((store.EpochOf("test"), id.ToString()), follower.Head);
    }

    [Fact]
    public async Task EntriesKeptForReplays_Bounded_ARangeReachingBackFurtherIsNotCovered()
    {
        var store = new FakeClusterStore();
        var follower = new StreamFollower(store, Keys, recentCapacity: 4);
        await follower.StartFromEndAsync(CancellationToken.None);
        await AppendEventsAsync(store, 10);
        await follower.ReadAsync(static (_, _) => Task.CompletedTask, CancellationToken.None);
        var ids = store.Entries("test").Select(static entry => StreamEntryId.Parse(entry.Id.ToString())).ToArray();

        Assert.True(follower.TryReadRecent(ids[5], ids[9], inclusive: false, out var lately));
        Assert.Equal(4, lately.Length);
        Assert.False(follower.TryReadRecent(ids[4], ids[9], inclusive: false, out _));
        Assert.False(follower.TryReadRecent(ids[0], ids[9], inclusive: true, out _));
    }

    [Fact]
    public async Task StartAt_ByAReplay_BeforeReading_Stands_AfterwardsIgnored()
    {
        var store = new FakeClusterStore();
        await AppendEventsAsync(store, 5);
        var entries = store.Entries("test");
        var epoch = store.EpochOf("test");
        var follower = new StreamFollower(store, Keys);

        follower.StartAt(epoch, entries[2].Id);
        await follower.StartFromEndAsync(CancellationToken.None);
        follower.StartAt(epoch, entries[0].Id);
        var seen = new List<string?>();
        await follower.ReadAsync(Collect(seen), CancellationToken.None);

        Assert.Equal(["r3", "r4"], seen);
    }

    [Fact]
    public async Task StartAt_OfAnotherEpoch_StreamReplacedMeanwhile_ReadingStartsAtTheNewStreamsBeginning()
    {
        var store = new FakeClusterStore();
        var follower = new StreamFollower(store, Keys);

        // A replay read ahead on a Stream deleted since (its epoch is gone); the new Stream has entries of its own, all of
        // them new to the connections (and one may be the owner's confirmation the Resync waits for).
        follower.StartAt("0123456789abcdef", "1-5");
        await AppendEventsAsync(store, 2);
        Assert.True(await follower.StartFromEndAsync(CancellationToken.None));

        Assert.True(follower.IsReading(store.EpochOf("test")));
        Assert.False(follower.IsReading("0123456789abcdef"));
        Assert.Equal((store.EpochOf("test"), "0-0"), follower.Head);
        var seen = new List<string?>();
        await follower.ReadAsync(Collect(seen), CancellationToken.None);
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task Restart_AfterTheStreamWasReplaced_ReadsTheNewOneFromItsEnd()
    {
        var store = new FakeClusterStore(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1)));
        var follower = new StreamFollower(store, Keys);
        await follower.StartFromEndAsync(CancellationToken.None);
        var before = store.EpochOf("test");

        store.Flush();
        await AppendEventsAsync(store, 2);
        Assert.False(follower.IsReading(store.EpochOf("test")));
        follower.Restart();
        Assert.False(follower.IsStarted);
        await follower.StartFromEndAsync(CancellationToken.None);

        Assert.NotEqual(before, store.EpochOf("test"));
        Assert.True(follower.IsReading(store.EpochOf("test")));
        var seen = new List<string?>();
        await AppendEventsAsync(store, 1, from: 2);
        await follower.ReadAsync(Collect(seen), CancellationToken.None);
        Assert.Equal(["r2"], seen);
    }

    [Fact]
    public async Task NotStarted_ReadsNothing_NoHead()
    {
        var store = new FakeClusterStore();
        var follower = new StreamFollower(store, Keys);

        await follower.ReadAsync(static (_, _) => throw new InvalidOperationException("Nothing to read yet."), CancellationToken.None);

        Assert.Null(follower.Head);
        Assert.Equal(0, store.StreamReads);
    }

    private static Func<ClusterEntry, string?, Task> Collect(List<string?> seen)
        => (entry, _) =>
        {
            seen.Add(entry.RecordElement().GetProperty("id").GetString());
            return Task.CompletedTask;
        };

    private static async Task AppendEventsAsync(FakeClusterStore store, int count, int from = 0)
    {
        for (var i = from; i < from + count; i++)
        {
            await store.AppendAsync(Keys, ClusterEntry.Event("m", "notes/*", "update", $$"""{"id":"r{{i}}"}"""), 100_000);
        }
    }
}
