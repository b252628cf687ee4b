using Microsoft.Extensions.DependencyInjection;
using Relay.Cluster;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using IConnectionMultiplexer = StackExchange.Redis.IConnectionMultiplexer;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// A session recreated on an instance while its previous incarnation is still shutting down (its last tab closed, the
/// linger over, its handover running; the user comes back): the two incarnations must not share what Redis holds for
/// them (topics, lease, confirmations), and the old one must delete nothing the new one uses (real redis-server, real
/// PocketBase).
/// </summary>
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterRecreateTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task SessionRecreatedWhileItsOwnerHandsOver_NewTabKeepsReceiving_StreamKeysKept()
    {
        await using var redis = await RedisProcess.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
            // Long: no heartbeat republishes a lost topic entry within the test, so a loss shows.
            ["Relay:Cluster:LeaseTime"] = "00:00:20",
            ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
            ["Relay:Cluster:HandoverTimeout"] = "00:00:04",
            ["Relay:Sessions:Linger"] = "00:00:00.200",
        };
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        var node = relay.Services.GetRequiredService<ClusterNode>();
        var multiplexer = relay.Services.GetRequiredService<IConnectionMultiplexer>();
        var database = multiplexer.GetDatabase();
        var user = await pocketBase.CreateUserAsync("cluster-recreated").DefaultTimeout();

        try
        {
            await RunAsync();
        }
        finally
        {
            foreach (var entry in relay.Logs.Entries.Where(static e => e.Category.StartsWith("Relay.Cluster", StringComparison.Ordinal)))
            {
                output.WriteLine($"{entry.Timestamp:HH:mm:ss.fff} {entry.Level} {entry.Text}");
            }
        }

        async Task RunAsync()
        {
            var first = await relay.ConnectAsync(user.Token);
            await first.SubscribeAsync("notes/*");
            await WaitForAsync(() => node.OwnedCount == 1, "the instance owns the session's stream");
            var server = multiplexer.GetServers()[0];
            var prefix = ((string)server.Keys(pattern: "relay:cluster:*:epoch").Single()!)[..^"epoch".Length];
            var epoch = (string?)await database.StringGetAsync(prefix + "epoch");
            Assert.NotNull(epoch);

            // Another instance crashed a while ago: its topic entry lives two seconds more. Closing the last tab here then
            // starts a handover (to someone who never answers) that runs until HandoverTimeout.
            var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
            await database.HashSetAsync(prefix + "topics", "crashed", InstanceTopics.Format(new Relay.Upstream.TopicSnapshot(["announcements/*"], 1), expiresAt));
            await first.DisposeAsync();
            await WaitForAsync(() => database.KeyExists(prefix + "handover"), "the old incarnation handing over");

            // The user comes back to this instance while the old incarnation still hands over.
            var second = await relay.ConnectAsync(user.Token);
            await second.SubscribeAsync("notes/*");
            await WaitForAsync(
                () => relay.Logs.Entries.Any(static entry => entry.EventId.Id is 9006 or 9007),
                "the old incarnation's handover to end",
                TimeSpan.FromSeconds(20));
            await WaitForAsync(() => !database.KeyExists(prefix + "handover") && node.OwnedCount == 1, "the new incarnation owning the stream");

            var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after", owner = user.Id }, user.Token).DefaultTimeout()).GetProperty("id").GetString()!;
            var received = second.NextEventAsync(TimeSpan.FromSeconds(5));
            var resynced = second.Resyncs.ReadAsync().AsTask();
            await Task.WhenAny(received, resynced);
            Assert.True(received.IsCompletedSuccessfully || resynced.IsCompleted, "The new tab's event was lost without a Resync.");
            if (received.IsCompletedSuccessfully)
            {
                Assert.Equal(id, (await received).Record.GetProperty("id").GetString());
            }

            Assert.Equal(epoch, (string?)await database.StringGetAsync(prefix + "epoch"));
            await second.DisposeAsync();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Default);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}
