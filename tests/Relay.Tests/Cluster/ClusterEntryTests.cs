using Relay.Cluster;
using StackExchange.Redis;

namespace Relay.Tests.Cluster;

/// <summary>Every kind of Stream entry, encoded and decoded by the one codec.</summary>
public class ClusterEntryTests
{
    [Fact]
    public void Event_RoundTrips()
    {
        var entry = Decode(ClusterEntry.Event("i1.a", "notes/*", "update", """{"id":"r1","title":"t"}"""));

        Assert.Equal((EntryKinds.Event, "i1.a", "notes/*", "update"), (entry.Kind, entry.Member, entry.Topic, entry.Action));
        Assert.Equal("t", entry.RecordElement().GetProperty("title").GetString());
    }

    [Fact]
    public void Applied_RoundTrips_AndNamesEachIncarnationsVersion()
    {
        var entry = Decode(ClusterEntry.Applied("i1.a", "i1.a=3,i1.b=40"));

        Assert.Equal(EntryKinds.Applied, entry.Kind);
        Assert.Equal(3, ClusterEntry.VersionOf(entry.Versions, "i1.a"));
        Assert.Equal(40, ClusterEntry.VersionOf(entry.Versions, "i1.b"));

        // Another incarnation of the session on the same instance is not confirmed by the old one's version.
        Assert.Null(ClusterEntry.VersionOf(entry.Versions, "i1.c"));
    }

    [Fact]
    public void Refused_RoundTrips()
    {
        var entry = Decode(ClusterEntry.Refused("i1.a", ["a/*", "b/x?options={}"]));

        Assert.Equal(EntryKinds.Refused, entry.Kind);
        Assert.Equal(["a/*", "b/x?options={}"], entry.Topics);
        Assert.Null(entry.Versions);
        Assert.Equal(7, ClusterEntry.VersionOf(Decode(ClusterEntry.Refused("i1.a", ["a/*"], "i1.a=7,i2.b=3")).Versions, "i1.a"));
    }

    [Fact]
    public void Markers_RoundTrip()
    {
        Assert.Equal((EntryKinds.Resync, "m"), Pair(Decode(ClusterEntry.Resync("m"))));
        Assert.Equal((EntryKinds.HandoverBegin, "m"), Pair(Decode(ClusterEntry.HandoverBegin("m"))));
        Assert.Equal((EntryKinds.HandoverReady, "m"), Pair(Decode(ClusterEntry.HandoverReady("m"))));
        var done = Decode(ClusterEntry.HandoverDone("m", "n"));
        Assert.Equal((EntryKinds.HandoverDone, "m", "n"), (done.Kind, done.Member, done.Successor));
    }

    [Fact]
    public void UnknownKind_DecodedWithoutPayload()
    {
        var entry = ClusterEntry.Decode(new StreamEntry("1-0", [new(EntryFields.Kind, "?"), new(EntryFields.Instance, "m")]));

        Assert.Equal(("?", "m"), Pair(entry));
        Assert.Null(entry.Topic);
    }

    private static ClusterEntry Decode(NameValueEntry[] fields) => ClusterEntry.Decode(new StreamEntry("1-0", fields));

    private static (string?, string?) Pair(ClusterEntry entry) => (entry.Kind, entry.Member);
}
