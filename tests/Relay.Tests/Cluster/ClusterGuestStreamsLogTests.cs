using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Relay.Cluster;
using Relay.Sessions;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>
/// The guests' log in cluster mode over several streams (<c>guest</c>, <c>guest#1</c>, ...), each its own Redis Stream:
/// an offset's epoch names its Stream, found before the session's lock, and a replay reads only the Stream of the
/// stream the topic is routed to.
/// </summary>
public class ClusterGuestStreamsLogTests
{
    private const string Topic = "announcements/a1";
    private const string Second = "guest#1";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 4, 0, 0, TimeSpan.Zero));
    private readonly FakeClusterStore _store = new();
    private readonly FakeStreamFollowers _followers = new();
    private int _sequence;

    [Fact]
    public async Task OffsetOfTheSecondStream_NotFollowedHere_FoundInRedis_RoutedThereAndReplayed()
    {
        var log = Log();
        _store.EpochOf("guest");
        var epoch = _store.EpochOf(Second);
        var since = Append(Second, Event("0"));
        Append(Second, Event("1"));
        Append(Second, Event("2", topic: "announcements/other"));
        Append(Second, Event("3"));
        var offset = string.Concat(epoch, "-", since);

        await log.PrepareReadAsync(offset, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, log.StreamIndexOf(offset));

        // The session routed the topic to that stream and started it (not reading yet): replayed from the read-ahead.
        var follower = new FakeStreamFollower();
        _followers.Followers[Second] = follower;
        var calls = _store.Calls;
        Assert.False(log.TryReadSince(offset, Topic, "guest", out _), "Routed to another stream: its live events come from another Stream.");
        Assert.True(log.TryReadSince(offset, Topic, Second, out var events));
        Assert.Equal(["1", "3"], events.Select(static e => e.Record.GetProperty("title").GetString()));
        Assert.Equal(calls, _store.Calls);
        Assert.Equal(epoch, follower.LogHead?.Epoch);
        Assert.Equal(string.Concat(epoch, "-", follower.LogHead?.EntryId), log.HeadOf(Second));
    }

    [Fact]
    public void OffsetOfAStreamFollowedHere_FoundWithoutRedis_CoveredByWhatItReadLately()
    {
        var log = Log();
        var first = Following("guest");
        var second = Following(Second);
        var since = Read(second, Second, Event("0"));
        Read(second, Second, Event("1"));
        Read(first, "guest", Event("x", topic: "announcements/b1"));
        var offset = string.Concat(_store.EpochOf(Second), "-", since);

        Assert.Equal(1, log.StreamIndexOf(offset));
        Assert.True(log.TryReadSince(offset, Topic, Second, out var events));
        Assert.Equal(["1"], events.Select(static e => e.Record.GetProperty("title").GetString()));
        Assert.Equal(0, _store.Calls);
        Assert.NotEqual(log.HeadOf("guest"), log.HeadOf(Second));
    }

    [Fact]
    public void MarkGap_CoversEveryStream()
    {
        var log = Log();
        Following("guest");
        var second = Following(Second);
        var since = Read(second, Second, Event("0"));
        Read(second, Second, Event("1"));

        log.MarkGap();

        Assert.False(log.TryReadSince(string.Concat(_store.EpochOf(Second), "-", since), Topic, Second, out _));
    }

    [Fact]
    public async Task MadeUpOffset_NoStreamHasItsEpoch_NothingReadNorCreated()
    {
        var log = Log();
        const string Offset = "0123456789abcdef-1-0";

        await log.PrepareReadAsync(Offset, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(log.StreamIndexOf(Offset));
        Assert.Equal(0, _store.RangeReads);
        Assert.Null(await _store.GetAsync(new ClusterKeys(Second).Epoch));
    }

    private ClusterSessionEventLog Log()
        => new(SessionKey.Guest, _store, _followers, new HistoryOptions { MaxEvents = 500, MaxAge = TimeSpan.FromMinutes(2) }, _time, streams: 3);

    private FakeStreamFollower Following(string streamName)
    {
        var follower = new FakeStreamFollower();
        follower.Start(_store.EpochOf(streamName), "0-0");
        _followers.Followers[streamName] = follower;
        return follower;
    }

    private string Append(string streamName, NameValueEntry[] fields)
        => _store.Append(streamName, new StreamEntry(string.Create(CultureInfo.InvariantCulture, $"{_time.GetUtcNow().ToUnixTimeMilliseconds()}-{_sequence++}"), fields)).ToString();

    private string Read(FakeStreamFollower follower, string streamName, NameValueEntry[] fields)
    {
        var id = Append(streamName, fields);
        follower.Read(new StreamEntry(id, _store.Entries(streamName).Single(entry => entry.Id == id).Values));
        return id;
    }

    private static NameValueEntry[] Event(string title, string topic = Topic)
        => ClusterEntry.Event("owner.1", topic, "update", $$"""{"id":"a1","title":"{{title}}"}""");
}
