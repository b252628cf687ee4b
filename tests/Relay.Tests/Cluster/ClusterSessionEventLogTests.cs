using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Relay.Cluster;
using Relay.Sessions;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>
/// The session log in cluster mode on an in-memory store: replays never call Redis under the session's lock, an
/// offset's epoch is checked before any read of the Stream, and read-aheads in flight count in their bound.
/// </summary>
public class ClusterSessionEventLogTests
{
    private const string Topic = "notes/*";
    private static readonly SessionKey User = new("users", "u1");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeClusterStore _store = new();
    private readonly string _name = User.ToString();
    private int _sequence;

    [Fact]
    public async Task PrepareRead_OffsetOfAnotherEpoch_WhileFollowing_NoRedisCall()
    {
        var follower = Following();
        var log = Log(follower);

        await PrepareAsync(log, Offset("0123456789abcdef", Id(0)));

        Assert.Equal(0, _store.Calls);
        Assert.Equal(0, log.ReadAheads.Count);
    }

    [Fact]
    public async Task PrepareRead_OffsetOfAnotherEpoch_NotFollowedYet_EpochReadButNoEntries()
    {
        var log = Log(new FakeStreamFollower { Registered = false });
        Append(Event("1"));

        await PrepareAsync(log, Offset("0123456789abcdef", Id(0)));

        Assert.Equal(1, _store.EpochReads);
        Assert.Equal(0, _store.RangeReads);
    }

    [Fact]
    public async Task PrepareRead_ManyOffsetsInFlight_ReadsInFlightCountInTheBound()
    {
        var log = Log(new FakeStreamFollower { Registered = false });
        var epoch = _store.EpochOf(_name);
        _store.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        // A client may name any offset it likes: 300 different ones while Redis answers none of them yet.
        var preparing = Enumerable.Range(0, 300).Select(i => log.PrepareReadAsync(Offset(epoch, Id(i)), stop.Token).AsTask()).ToList();

        var (count, entries) = log.ReadAheads;
        Assert.True(entries <= 10_000, $"{entries} entries reserved by {count} read-aheads in flight.");
        Assert.True(_store.MaxInFlight * 502 <= 10_000, $"{_store.MaxInFlight} reads in flight of up to 502 entries each.");
        await stop.CancelAsync();
        _store.Hold.SetResult();
        await Task.WhenAll(preparing).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task PrepareRead_DoneReadsReleaseTheirReservation()
    {
        var log = Log(new FakeStreamFollower { Registered = false });
        var epoch = _store.EpochOf(_name);
        var since = Append(Event("0"));
        Append(Event("1"));

        await PrepareAsync(log, Offset(epoch, since));

        Assert.Equal((1, 2), log.ReadAheads);
    }

    [Fact]
    public async Task PrepareRead_SameOffset_OneReadShared()
    {
        var log = Log(new FakeStreamFollower { Registered = false });
        var offset = Offset(_store.EpochOf(_name), Append(Event("0")));

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => PrepareAsync(log, offset)));

        Assert.Equal(1, _store.RangeReads);
    }

    [Fact]
    public async Task Replay_StreamNotStartedYet_StartsAfterTheReadAhead_RecoveredWithoutRedisUnderTheLock()
    {
        var follower = new FakeStreamFollower();
        var log = Log(follower);
        var epoch = _store.EpochOf(_name);
        var since = Append(Event("0"));
        Append(Event("1"));
        Append(Event("2", topic: "other/*"));
        Append(Event("3"));
        await PrepareAsync(log, Offset(epoch, since));
        var calls = _store.Calls;

        Assert.True(log.TryReadSince(Offset(epoch, since), Topic, out var events));

        Assert.Equal(["1", "3"], Titles(events));
        Assert.Equal(calls, _store.Calls);
        Assert.Equal((epoch, Id(3)), follower.LogHead);
    }

    [Fact]
    public async Task Replay_EntriesCameAfterTheReadAhead_TakenFromWhatTheStreamReadLately()
    {
        var follower = new FakeStreamFollower();
        var log = Log(follower);
        var epoch = _store.EpochOf(_name);
        var since = Append(Event("0"));
        Append(Event("1"));
        await PrepareAsync(log, Offset(epoch, since));
        Assert.True(log.TryReadSince(Offset(epoch, since), Topic, out _));

        // The stream reads on between another client's read-ahead and its replay.
        follower.Read(Entry(Append(Event("2"))));
        follower.Read(Entry(Append(Event("3"))));
        var calls = _store.Calls;

        Assert.True(log.TryReadSince(Offset(epoch, since), Topic, out var events));
        Assert.Equal(["1", "2", "3"], Titles(events));
        Assert.Equal(calls, _store.Calls);
    }

    [Fact]
    public void Replay_NoReadAhead_CoveredByWhatTheStreamReadLately()
    {
        var follower = Following();
        var log = Log(follower);
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));

        Assert.True(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out var events));

        Assert.Equal(["1"], Titles(events));
        Assert.Equal(0, _store.Calls);
    }

    [Fact]
    public void Replay_NotInMemoryAndNoReadAhead_NotRecovered_NoRedisCall()
    {
        var follower = Following(recentCapacity: 2);
        var log = Log(follower);
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));
        Read(follower, Event("2"));

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out _));
        Assert.Equal(0, _store.Calls);
    }

    [Fact]
    public void Replay_OffsetOfAnotherEpoch_NotRecovered()
    {
        var follower = Following();
        var log = Log(follower);
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));

        Assert.False(log.TryReadSince(Offset("0123456789abcdef", since), Topic, out _));
    }

    [Fact]
    public void Replay_ResyncEntryBetween_NotRecovered()
    {
        var follower = Following();
        var log = Log(follower);
        var since = Read(follower, Event("0"));
        Read(follower, ClusterEntry.Resync("owner.1"));
        Read(follower, Event("1"));

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out _));
    }

    [Fact]
    public void MarkGap_NoRedisCall_AnOffsetBeforeItIsNotRecovered_OneAfterItIs()
    {
        var follower = Following();
        var log = Log(follower);
        var before = Read(follower, Event("0"));
        var after = Read(follower, Event("1"));
        log.MarkGap();
        Read(follower, Event("2"));

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), before), Topic, out _));
        Assert.True(log.TryReadSince(Offset(_store.EpochOf(_name), after), Topic, out var events));
        Assert.Equal(["2"], Titles(events));
        Assert.Equal(0, _store.Calls);
    }

    [Fact]
    public void Head_StreamNotStarted_NullWithoutRedis_ThenTheEntryHandedLast()
    {
        var follower = new FakeStreamFollower();
        var log = Log(follower);
        Assert.Null(log.Head);
        Assert.Equal(0, _store.Calls);

        follower.Start(_store.EpochOf(_name), Id(0));
        var last = Read(follower, Event("1"));

        Assert.Equal(Offset(_store.EpochOf(_name), last), log.Head);
    }

    [Fact]
    public async Task Replay_ReadAheadStale_NotUsed_MemoryDecides()
    {
        var follower = new FakeStreamFollower();
        var log = Log(follower);
        var epoch = _store.EpochOf(_name);
        var since = Append(Event("0"));
        Append(Event("1"));
        await PrepareAsync(log, Offset(epoch, since));
        _time.Advance(TimeSpan.FromSeconds(6));

        // The stream never read the offset's entry: without the read-ahead nothing covers it.
        Assert.False(log.TryReadSince(Offset(epoch, since), Topic, out _));
    }

    [Fact]
    public void Replay_OlderThanMaxAge_NotRecovered()
    {
        var follower = Following();
        var log = Log(follower, maxAge: TimeSpan.FromSeconds(30));
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out _));
    }

    [Fact]
    public void Replay_MoreThanMaxEventsAfterTheOffset_NotRecovered()
    {
        var follower = Following();
        var log = Log(follower, maxEvents: 2);
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));
        Read(follower, Event("2"));
        Read(follower, Event("3"));

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out _));
    }

    [Fact]
    public void Replay_StreamRunningAlone_NotRecovered()
    {
        var follower = Following();
        var log = Log(follower);
        var since = Read(follower, Event("0"));
        Read(follower, Event("1"));
        follower.FollowsStream = false;

        Assert.False(log.TryReadSince(Offset(_store.EpochOf(_name), since), Topic, out _));
    }

    private static Task PrepareAsync(ClusterSessionEventLog log, string offset)
        => log.PrepareReadAsync(offset, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private FakeStreamFollower Following(int recentCapacity = 256)
    {
        var follower = new FakeStreamFollower(recentCapacity);
        follower.Start(_store.EpochOf(_name), "0-0");
        return follower;
    }

    private ClusterSessionEventLog Log(FakeStreamFollower followers, int maxEvents = 500, TimeSpan? maxAge = null)
        => new(User, _store, followers, new HistoryOptions { MaxEvents = maxEvents, MaxAge = maxAge ?? TimeSpan.FromMinutes(2) }, _time);

    private string Id(int sequence) => string.Create(CultureInfo.InvariantCulture, $"{_time.GetUtcNow().ToUnixTimeMilliseconds()}-{sequence}");

    private string Append(NameValueEntry[] fields)
        => _store.Append(_name, new StreamEntry(Id(_sequence++), fields)).ToString();

    private StreamEntry Entry(string id) => new(id, _store.Entries(_name).Single(entry => entry.Id == id).Values);

    /// <summary>Appended to the Stream and read by the follower; its id.</summary>
    private string Read(FakeStreamFollower follower, NameValueEntry[] fields)
    {
        var id = Append(fields);
        follower.Read(Entry(id));
        return id;
    }

    private static NameValueEntry[] Event(string title, string topic = Topic)
        => ClusterEntry.Event("owner.1", topic, "update", $$"""{"id":"r1","title":"{{title}}"}""");

    private static string Offset(string epoch, string id) => string.Concat(epoch, "-", id);

    private static string[] Titles(IReadOnlyList<Relay.Client.Protocol.RelayEvent> events)
        => [.. events.Select(static e => e.Record.GetProperty("title").GetString()!)];
}
