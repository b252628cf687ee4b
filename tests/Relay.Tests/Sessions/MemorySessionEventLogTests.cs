using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.Client.Protocol;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

public class MemorySessionEventLogTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero));

    private MemorySessionEventLog NewLog(int maxEvents = 100, TimeSpan? maxAge = null)
        => new(new HistoryOptions { MaxEvents = maxEvents, MaxAge = maxAge ?? TimeSpan.FromMinutes(2) }, _time);

    private static RelayEvent Event(string topic, string id)
        => new() { Topic = topic, Action = RelayActions.Update, Record = JsonDocument.Parse($$"""{"id":"{{id}}"}""").RootElement.Clone() };

    [Fact]
    public void TryReadSince_CoveredOffset_ReturnsOnlyThatTopicsLaterEventsInOrder()
    {
        var log = NewLog();
        log.Hold("posts/*");
        log.Hold("tags/*");
        var seen = log.Append("posts/*", Event("posts/*", "a"));
        log.Append("tags/*", Event("tags/*", "t"));
        var b = log.Append("posts/*", Event("posts/*", "b"));
        log.Append("posts/*", Event("posts/*", "c"));

        Assert.True(log.TryReadSince(seen, "posts/*", out var missed));
        Assert.Equal(["b", "c"], missed.Select(static e => e.Record.GetProperty("id").GetString()));
        Assert.Equal(b, missed[0].Offset);
        Assert.True(log.TryReadSince(log.Head, "posts/*", out var none));
        Assert.Empty(none);
    }

    [Fact]
    public void Offsets_IncreaseWithinALog_AndNeverResolveInAnotherIncarnation()
    {
        var first = NewLog();
        first.Hold("posts/*");
        var offset = first.Append("posts/*", Event("posts/*", "a"));
        Assert.True(first.TryReadSince(offset, "posts/*", out _));

        var epochs = new HashSet<string> { first.Epoch };
        for (var i = 0; i < 1000; i++)
        {
            var reopened = NewLog();
            reopened.Hold("posts/*");
            reopened.Append("posts/*", Event("posts/*", "a"));
            Assert.True(epochs.Add(reopened.Epoch));
            Assert.False(reopened.TryReadSince(offset, "posts/*", out _));
        }
    }

    [Fact]
    public void TryReadSince_EntriesTrimmedByCount_IsAGap_WhileALaterOffsetIsCovered()
    {
        var log = NewLog(maxEvents: 3);
        log.Hold("posts/*");
        var first = log.Append("posts/*", Event("posts/*", "1"));
        var second = log.Append("posts/*", Event("posts/*", "2"));
        log.Append("posts/*", Event("posts/*", "3"));
        log.Append("posts/*", Event("posts/*", "4"));
        log.Append("posts/*", Event("posts/*", "5"));

        Assert.Equal(3, log.Count);
        Assert.False(log.TryReadSince(first, "posts/*", out _));
        Assert.True(log.TryReadSince(second, "posts/*", out var missed));
        Assert.Equal(["3", "4", "5"], missed.Select(static e => e.Record.GetProperty("id").GetString()));
    }

    [Fact]
    public void TryReadSince_EntriesOlderThanMaxAge_IsAGap()
    {
        var log = NewLog(maxAge: TimeSpan.FromSeconds(30));
        log.Hold("posts/*");
        var seen = log.Append("posts/*", Event("posts/*", "1"));
        log.Append("posts/*", Event("posts/*", "2"));

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(log.TryReadSince(seen, "posts/*", out var missed));
        Assert.Single(missed);

        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(log.TryReadSince(seen, "posts/*", out _));
        Assert.Equal(0, log.Count);
    }

    [Fact]
    public void MarkGap_OffsetsBeforeItAreGaps_HeadAfterItIsCovered()
    {
        var log = NewLog();
        log.Hold("posts/*");
        var before = log.Append("posts/*", Event("posts/*", "1"));
        log.MarkGap();
        var head = log.Head;
        log.Append("posts/*", Event("posts/*", "2"));

        Assert.False(log.TryReadSince(before, "posts/*", out _));
        Assert.True(log.TryReadSince(head, "posts/*", out var missed));
        Assert.Single(missed);
    }

    [Fact]
    public void TryReadSince_TopicReleasedAndHeldAgain_IsAGap_UnknownTopicAndMalformedOffsetsToo()
    {
        var log = NewLog();
        log.Hold("posts/*");
        var seen = log.Append("posts/*", Event("posts/*", "1"));
        log.Release("posts/*");
        log.Hold("posts/*");
        log.Append("posts/*", Event("posts/*", "2"));

        Assert.False(log.TryReadSince(seen, "posts/*", out _));
        Assert.False(log.TryReadSince(log.Head, "tags/*", out _));
        Assert.False(log.TryReadSince("not-an-offset", "posts/*", out _));
        Assert.False(log.TryReadSince(log.Epoch + "-999", "posts/*", out _));
        Assert.False(log.TryReadSince(log.Epoch + "--1", "posts/*", out _));
    }

    [Fact]
    public void MaxEventsZero_NothingKept_EveryEarlierOffsetIsAGap()
    {
        var log = NewLog(maxEvents: 0);
        log.Hold("posts/*");
        var seen = log.Append("posts/*", Event("posts/*", "1"));
        log.Append("posts/*", Event("posts/*", "2"));

        Assert.Equal(0, log.Count);
        Assert.False(log.TryReadSince(seen, "posts/*", out _));
    }
}
