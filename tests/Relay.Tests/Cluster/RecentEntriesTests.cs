using Relay.Cluster;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

public class RecentEntriesTests
{
    [Fact]
    public void NotStarted_CoversNothing()
        => Assert.False(new RecentEntries(4).TryRead(Id(0), Id(9), inclusive: false, out _));

    [Fact]
    public void AfterReset_CoversEverythingAfterThePosition()
    {
        var recent = new RecentEntries(4);
        recent.Reset(Id(1));
        recent.Add(Entry(2));
        recent.Add(Entry(3));

        Assert.True(recent.TryRead(Id(1), Id(3), inclusive: false, out var after));
        Assert.Equal(["5-2", "5-3"], after.Select(static entry => entry.Id.ToString()));
        Assert.True(recent.TryRead(Id(2), Id(2), inclusive: true, out var one));
        Assert.Equal("5-2", one.Single().Id.ToString());

        // The position itself was never read: a read that needs it is not covered.
        Assert.False(recent.TryRead(Id(1), Id(3), inclusive: true, out _));
    }

    [Fact]
    public void OverCapacity_OldestDropped_ARangeReachingBackIsNotCovered()
    {
        var recent = new RecentEntries(2);
        recent.Reset(Id(0));
        recent.Add(Entry(1));
        recent.Add(Entry(2));
        recent.Add(Entry(3));

        Assert.False(recent.TryRead(Id(0), Id(3), inclusive: false, out _));
        Assert.True(recent.TryRead(Id(1), Id(3), inclusive: false, out var entries));
        Assert.Equal(2, entries.Length);
    }

    [Fact]
    public void Reset_ForgetsWhatCameBefore()
    {
        var recent = new RecentEntries(4);
        recent.Reset(Id(0));
        recent.Add(Entry(1));
        recent.Reset(Id(5));

        Assert.False(recent.TryRead(Id(0), Id(9), inclusive: false, out _));
        Assert.True(recent.TryRead(Id(5), Id(9), inclusive: false, out var none));
        Assert.Empty(none);
    }

    [Theory]
    [InlineData("1-0", "1-1", -1)]
    [InlineData("2-0", "1-9", 1)]
    [InlineData("10-0", "9-0", 1)]
    [InlineData("3-3", "3-3", 0)]
    public void StreamEntryIds_OrderedAsRedisOrdersThem(string a, string b, int sign)
        => Assert.Equal(sign, Math.Sign(StreamEntryId.Parse(a).CompareTo(StreamEntryId.Parse(b))));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("-1-0")]
    [InlineData("1-x")]
    public void StreamEntryId_Malformed_NotParsed(string? value) => Assert.False(StreamEntryId.TryParse(value, out _));

    private static StreamEntryId Id(long sequence) => new(5, sequence);

    private static StreamEntry Entry(long sequence) => new($"5-{sequence}", ClusterEntry.Resync("m"));
}
