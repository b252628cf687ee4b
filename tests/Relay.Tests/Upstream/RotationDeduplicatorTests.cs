using System.Text.Json;
using Relay.Upstream;

namespace Relay.Tests.Upstream;

public class RotationDeduplicatorTests
{
    private static UpstreamEvent Event(string id, string updated, string title, string topic = "notes/*", string action = "update")
        => new(topic, action, JsonDocument.Parse($$"""{"id":"{{id}}","updated":"{{updated}}","title":"{{title}}"}""").RootElement, 0);

    [Fact]
    public void ChangeOnBothStreams_DeliveredOnce_NewStreamOnlyChangesReleasedAfterOldOnes()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        dedup.AddSuccessor(2);

        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "x"), 0));
        Assert.False(dedup.ShouldDeliver(2, Event("b", "t2", "x"), 0));
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        Assert.True(dedup.ShouldDeliver(1, Event("z", "t0", "x"), 0));

        var released = dedup.CompleteRotation(dropMatchesUntil: 100);
        Assert.Equal(["b"], released.Select(e => e.Record.GetProperty("id").GetString()));
        Assert.True(dedup.ShouldDeliver(2, Event("c", "t3", "x"), 50));
        // "z" reached the new stream late: still recognised within the window, delivered again only after it.
        Assert.False(dedup.ShouldDeliver(2, Event("z", "t0", "x"), 60));
        Assert.True(dedup.ShouldDeliver(1, Event("late", "t9", "x"), 60) is false);
    }

    [Fact]
    public void DistinctChangesWithTheSameUpdatedTime_AreNeverMerged()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        dedup.AddSuccessor(2);

        // Two updates within one millisecond: same id and updated, different content.
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "first"), 0));
        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "first"), 0));
        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "second"), 0));
        // The same change on another topic (notes/* and notes/a both subscribed) is its own delivery.
        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "first", topic: "notes/a"), 0));

        var released = dedup.CompleteRotation(dropMatchesUntil: 100);
        Assert.Equal(["second", "first"], released.Select(e => e.Record.GetProperty("title").GetString()));
        Assert.Equal("notes/a", released[1].UpstreamTopic);
    }

    [Fact]
    public void RepeatedIdenticalEvents_SuppressOneCopyEach()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        dedup.AddSuccessor(2);
        Assert.Empty(dedup.CompleteRotation(dropMatchesUntil: 100));

        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "x"), 10));
        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "x"), 10));
        Assert.True(dedup.ShouldDeliver(2, Event("a", "t1", "x"), 10));
    }

    [Fact]
    public void AfterTheWindow_NothingIsDropped()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        dedup.AddSuccessor(2);
        dedup.CompleteRotation(dropMatchesUntil: 100);
        Assert.True(dedup.ShouldDeliver(2, Event("a", "t1", "x"), 101));
    }

    [Fact]
    public void AbandonedRotation_OldStreamStaysPrimary()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        dedup.AbandonRotation();
        Assert.True(dedup.ShouldDeliver(1, Event("a", "t1", "x"), 0));
        Assert.Equal(0, dedup.HeldCount);
    }
}
