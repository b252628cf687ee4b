using System.Net;
using Relay.Cluster;
using Relay.Tests.Upstream;
using Relay.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>A topic PocketBase refuses on the owner's stream fails the subscriptions that brought it, on every follower.</summary>
public class ClusterRefusalTests
{
    [Fact]
    public async Task RefusedTopic_RefusalBeforeItsConfirmation_ALaterWaiterFailsToo()
    {
        await using var cluster = new ClusterHarness();
        cluster.PocketBase.PostResponder = static (topics, _) => topics.Contains("secret/*") ? HttpStatusCode.Forbidden : null;
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*", "secret/*");
        var version = subscriber.Version;
        var upstream = cluster.Follow(node, subscriber);

        await Assert.ThrowsAsync<TopicRefusedException>(() => WithinDeadline(upstream.WaitForSyncAsync(version, CancellationToken.None, "secret/*")));

        // The Stream says so before it confirms the version that held the topic: a follower reads the refusal first.
        await WaitUntilAsync(() => Kinds(cluster).Contains(EntryKinds.Applied), "the confirmation");
        var kinds = Kinds(cluster);
        Assert.True(
            Array.IndexOf(kinds, EntryKinds.Refused) is >= 0 and var refused && refused < Array.IndexOf(kinds, EntryKinds.Applied),
            $"Entries: {string.Join(", ", kinds)}");

        // A subscription of that version that starts waiting after the follower read both fails as well.
        await Assert.ThrowsAsync<TopicRefusedException>(() => WithinDeadline(upstream.WaitForSyncAsync(version, CancellationToken.None, "secret/*")));
        await WithinDeadline(upstream.WaitForSyncAsync(version, CancellationToken.None, "notes/*"));
    }

    [Fact]
    public void RefusedEntry_WithoutVersions_StillDecodes()
    {
        var entry = ClusterEntry.Decode(new StackExchange.Redis.StreamEntry("1-0", ClusterEntry.Refused("i1.a", ["a/*"])));

        Assert.Equal(["a/*"], entry.Topics);
        Assert.Null(ClusterEntry.VersionOf(entry.Versions, "i1.a"));
    }

    private static string?[] Kinds(ClusterHarness cluster)
        => [.. cluster.Store.Entries("test").Select(static entry => ClusterEntry.Decode(entry).Kind)];
}
