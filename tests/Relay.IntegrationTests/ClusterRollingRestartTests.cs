using Relay.Testing.PocketBase;
using System.Collections.Concurrent;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// A rolling deploy of a three-instance cluster (real PocketBase, real <c>redis-server</c>): each instance in turn is
/// replaced by a new one and stopped gracefully (SIGTERM) while another writer changes data steadily; the clients
/// (<see cref="RelayClient"/>, WebSockets only) reconnect through a round-robin forwarder to the live instances and
/// resubscribe with <c>since</c>. Every client must get every event exactly once and no <c>Resync</c>.
/// </summary>
// Slow (about half a minute): runs in the parallel pass of scripts/test.sh, on its own PocketBase.
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterRollingRestartTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Clients = 6;

    [Fact]
    public async Task RollingRestartOfAllThreeInstances_UnderSteadyWrites_EveryEventOnceToEveryClientNoResync()
    {
        await using var redis = await RedisProcess.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
            ["Relay:Cluster:LeaseTime"] = "00:00:03",
            ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
            ["Relay:Cluster:HandoverTimeout"] = "00:00:10",
        };
        var all = new List<RelayServer>();
        await using var forwarder = new RoundRobinForwarder();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var instance = RelayServer.Start(pocketBase.Server.Url, settings);
                all.Add(instance);
                forwarder.Add(instance.Url);
            }

            var user = await pocketBase.CreateUserAsync("cluster-rolling").DefaultTimeout();
            var received = Enumerable.Range(0, Clients).Select(_ => new ConcurrentQueue<string>()).ToArray();
            var resyncs = Enumerable.Range(0, Clients).Select(_ => new ConcurrentQueue<ResyncSignal>()).ToArray();
            var clients = new List<RelayClient>();
            var subscriptions = new List<IAsyncDisposable>();
            for (var c = 0; c < Clients; c++)
            {
                var index = c;
                var client = new RelayClient(new RelayClientOptions
                {
                    Url = forwarder.Url,
                    AccessTokenProvider = _ => ValueTask.FromResult<string?>(user.Token),
                    Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets,
                    ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                    ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                });
                client.Resync += signal =>
                {
                    resyncs[index].Enqueue(signal);
                    return Task.CompletedTask;
                };
                clients.Add(client);
                await client.StartAsync().DefaultTimeout();
                subscriptions.Add(await client.SubscribeAsync("notes/*", e =>
                {
                    if (e.Action == "create")
                    {
                        received[index].Enqueue(e.Record.GetProperty("id").GetString()!);
                    }

                    return Task.CompletedTask;
                }).DefaultTimeout());
            }

            // Steady writes by someone who is not a client (the admin), a new note every ~50 ms for the whole rollout.
            var created = new ConcurrentQueue<string>();
            using var writing = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                var n = 0;
                while (!writing.IsCancellationRequested)
                {
                    var record = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"rolling {n++}", owner = user.Id }).DefaultTimeout();
                    created.Enqueue(record.GetProperty("id").GetString()!);
                    await Task.Delay(50);
                }
            });

            await Task.Delay(TimeSpan.FromSeconds(2));
            for (var step = 0; step < 3; step++)
            {
                // Make the replacement first (as a rolling deploy does), then take the old one out of rotation and SIGTERM it.
                var replacement = RelayServer.Start(pocketBase.Server.Url, settings);
                all.Add(replacement);
                forwarder.Add(replacement.Url);
                var old = all[step];
                forwarder.Remove(old.Url);
                await old.StopAsync();
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} instance {step} stopped; {created.Count} notes written");
                await Task.Delay(TimeSpan.FromSeconds(3));
            }

            await writing.CancelAsync();
            await writer.WaitAsync(TestTimeouts.Default);
            var expected = created.ToHashSet();

            // Every client catches up (generous: the machine is loaded), then stays quiet.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (received.Any(queue => !expected.IsSubsetOf(queue)) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            await Task.Delay(TestTimeouts.Quiet);
            var lost = received.Sum(queue => expected.Except(queue).Count());
            var duplicates = received.Sum(queue => queue.Count - queue.Distinct().Count());
            var foreign = received.Sum(queue => queue.Distinct().Count(id => !expected.Contains(id)));
            var resyncCount = resyncs.Sum(static queue => queue.Count);
            var line = $"Cluster rolling restart (3 instances replaced one at a time, SIGTERM, clients via a round-robin forwarder): {expected.Count} events x {Clients} clients, {resyncCount} Resyncs, {duplicates} duplicates, {lost} lost, {foreign} unexpected, {forwarder.Accepted} client connections";
            output.WriteLine(line);
            await TestResults.AppendAsync(line);
            for (var c = 0; c < Clients; c++)
            {
                Assert.True(expected.SetEquals(received[c]), $"Client {c}: {expected.Except(received[c]).Count()} lost, {received[c].Except(expected).Count()} unexpected.");
                Assert.Equal(received[c].Count, received[c].Distinct().Count());
                Assert.True(resyncs[c].IsEmpty, $"Client {c} got a Resync ({string.Join(", ", resyncs[c].Select(static r => r.Reason))}).");
            }

            // Every client really moved: all three original instances are gone, so each reconnected at least once.
            Assert.True(forwarder.Accepted >= 2 * Clients, $"Only {forwarder.Accepted} client connections: the clients did not move.");
            Assert.Equal(expected.Count * Clients, received.Sum(static queue => queue.Count));

            foreach (var client in clients)
            {
                await client.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Default);
            }
        }
        finally
        {
            foreach (var instance in all)
            {
                foreach (var entry in instance.Logs.Entries.Where(static e => e.Category.StartsWith("Relay.Cluster", StringComparison.Ordinal) || e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning))
                {
                    output.WriteLine($"[{all.IndexOf(instance)}] {entry.Timestamp:HH:mm:ss.fff} {entry.Level} {entry.Category}: {entry.Text}");
                }

                await instance.DisposeAsync();
            }
        }
    }
}
