using System.Text.Json;
using Relay.Upstream;

namespace Relay.Tests.Upstream;

public class RotationDeduplicatorTests
{
    private static UpstreamEvent Event(string id, string updated, string title, string topic = "notes/*", string action = "update", long receivedAt = 0)
        => new(topic, action, JsonDocument.Parse($$"""{"id":"{{id}}","updated":"{{updated}}","title":"{{title}}"}""").RootElement, receivedAt);

    private static readonly HashSet<string> RetiredTopics = new(["notes/*"], StringComparer.Ordinal);

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

    [Fact]
    public void RetiredStreamReadNothing_NewStreamHadAChangeInTime_CountedAsMissed()
    {
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        dedup.AddSuccessor(2);
        Assert.False(dedup.ShouldDeliver(2, Event("a", "t1", "x", receivedAt: 10), 10));
        Assert.False(dedup.ShouldDeliver(2, Event("b", "t2", "x", receivedAt: 20), 20));

        var released = dedup.CompleteRotation(dropMatchesUntil: 100, RetiredTopics, missedBefore: 50);
        Assert.Equal(2, released.Count);
        Assert.Equal(2, dedup.MissedByRetired);
    }

    [Fact]
    public void NewStreamOnlyChanges_NotCountedAsMissed_WhenTheOldStreamLivedOrCouldNotHaveHadThem()
    {
        // The old stream read something during the rotation: it was alive, a change only the new one has was late on it.
        var alive = new RotationDeduplicator();
        alive.Reset(1);
        alive.BeginRotation();
        Assert.True(alive.ShouldDeliver(1, Event("z", "t0", "x", receivedAt: 5), 5));
        alive.AddSuccessor(2);
        Assert.False(alive.ShouldDeliver(2, Event("a", "t1", "x", receivedAt: 10), 10));
        Assert.Single(alive.CompleteRotation(dropMatchesUntil: 100, RetiredTopics, missedBefore: 50));
        Assert.Equal(0, alive.MissedByRetired);

        // Read by the new stream too close to the old one's retirement (may still have been on its way), or on a topic
        // the old stream did not hold (subscribed during the rotation).
        var dedup = new RotationDeduplicator();
        dedup.Reset(1);
        dedup.BeginRotation();
        dedup.AddSuccessor(2);
        Assert.False(dedup.ShouldDeliver(2, Event("late", "t1", "x", receivedAt: 60), 60));
        Assert.False(dedup.ShouldDeliver(2, Event("new-topic", "t2", "x", topic: "announcements/*", receivedAt: 10), 10));
        Assert.Equal(2, dedup.CompleteRotation(dropMatchesUntil: 100, RetiredTopics, missedBefore: 50).Count);
        Assert.Equal(0, dedup.MissedByRetired);
    }
}
