using Relay.Tests.Upstream;
using static Relay.Tests.Cluster.ClusterHarness;

namespace Relay.Tests.Cluster;

/// <summary>A replay positions reading on a session stream that is just starting.</summary>
public class ClusterReplayTests
{
    [Fact]
    public async Task ReplayPositionedOnAStreamReplacedMeanwhile_ConnectionsResync()
    {
        await using var cluster = new ClusterHarness();
        var node = cluster.AddInstance();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var upstream = cluster.Create(node, subscriber);

        // A client reconnects with an offset of the Stream's last incarnation: the replay read ahead up to it and
        // positions reading there, after the loop found reading not started, while the last incarnation elsewhere left
        // and the keys were deleted (the loop's epoch read draws a new one).
        cluster.Store.BeforeEpochRead = () => upstream.StartAt("0123456789abcdef", "1-5");
        upstream.Start();

        await WithinDeadline(upstream.WaitForSyncAsync(subscriber.Version, CancellationToken.None));
        Assert.Equal(cluster.Store.EpochOf("test"), upstream.LogHead!.Value.Epoch);
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) >= 1, "the Resync for the replaced Stream");
    }
}
