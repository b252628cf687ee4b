using Relay.Testing.PocketBase;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Relay.Cluster;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>
/// Cluster mode: several Relay instances on one real <c>redis-server</c> (a local process on a free port) in front of the
/// real PocketBase hold one PocketBase stream per session between them, hand it over on SIGTERM without a <c>Resync</c>,
/// take it over after a crash with one, and keep serving alone while Redis is down.
/// </summary>
// Slow (about a minute and a half): runs in the parallel pass of scripts/test.sh, on its own PocketBase.
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeInstances_UserTabOnEach_OneStreamPerSessionEveryEventInOrderOthersReceiveNothing()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = Cluster.Start(pocketBase, redis, 3, output);
        var user = await pocketBase.CreateUserAsync("cluster-one-stream").DefaultTimeout();
        var other = await pocketBase.CreateUserAsync("cluster-other").DefaultTimeout();

        var tabs = new List<TestConnection>();
        var otherTabs = new List<TestConnection>();
        var guests = new List<TestConnection>();
        foreach (var instance in cluster.Instances)
        {
            tabs.Add(await SubscribedAsync(instance, user.Token, "notes/*"));
            otherTabs.Add(await SubscribedAsync(instance, other.Token, "notes/*"));
            guests.Add(await SubscribedAsync(instance, null, "announcements/*"));
        }

        // One stream for the user, one for the other user, one for every guest: across all three instances.
        await cluster.WaitForStreamsAsync(3);
        Assert.Equal(3, cluster.Instances.Sum(static instance => instance.Services.GetRequiredService<ClusterNode>().OwnedCount));

        var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "0", owner = user.Id }, user.Token).DefaultTimeout()).GetProperty("id").GetString()!;
        const int Updates = 20;
        for (var i = 1; i <= Updates; i++)
        {
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"{i}" }, user.Token).DefaultTimeout();
        }

        await pocketBase.Admin.DeleteRecordAsync("notes", id, user.Token).DefaultTimeout();
        // PocketBase sends each message to a client from its own goroutine, so rapid changes may reach the session's one
        // stream out of order (PocketBase promises no order there). Relay's part: every change once, on every instance, in
        // the one order its stream read them.
        var expected = new[] { "create 0" }.Concat(Enumerable.Range(1, Updates).Select(static i => $"update {i}")).Append($"delete {Updates}").ToList();
        var sequences = new List<List<string>>();
        foreach (var tab in tabs)
        {
            var received = new List<string>();
            for (var i = 0; i < expected.Count; i++)
            {
                var next = await tab.NextEventAsync();
                Assert.Equal(id, next.Record.GetProperty("id").GetString());
                received.Add($"{next.Action} {next.Record.GetProperty("title").GetString()}");
            }

            Assert.Equal(expected.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
            sequences.Add(received);
        }

        Assert.All(sequences, sequence => Assert.Equal(sequences[0], sequence));

        var announcement = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "to every guest" }).DefaultTimeout()).GetProperty("id").GetString()!;
        foreach (var guest in guests)
        {
            await guest.NextEventAsync("create", announcement);
        }

        foreach (var connection in tabs.Concat(otherTabs).Concat(guests))
        {
            await connection.AssertNoEventAsync();
            Assert.False(connection.Resyncs.TryRead(out _), "No stream was lost: nobody gets a Resync.");
        }

        Assert.Equal(3, cluster.Streams());
        cluster.AssertNoErrorLogs();
    }

    [Fact]
    public async Task OwnerKilled_AnotherInstanceTakesOverWithinSeconds_ClientsResyncNothingTwice()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = Cluster.Start(pocketBase, redis, 3, output);
        var user = await pocketBase.CreateUserAsync("cluster-killed").DefaultTimeout();
        var tabs = new List<TestConnection>();
        foreach (var instance in cluster.Instances)
        {
            tabs.Add(await SubscribedAsync(instance, user.Token, "notes/*"));
        }

        await cluster.WaitForStreamsAsync(1);
        var owner = cluster.Owner();
        var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "before", owner = user.Id }, user.Token).DefaultTimeout()).GetProperty("id").GetString()!;
        var beforeOffsets = new List<string?>();
        foreach (var tab in tabs)
        {
            beforeOffsets.Add((await tab.NextEventAsync("create", id)).Offset);
        }

        // As SIGKILL: the lease is neither renewed nor released, the owner's PocketBase stream just ends.
        await owner.Services.GetRequiredService<ClusterNode>().HaltAsync().DefaultTimeout();
        var killedAt = DateTime.UtcNow;
        var survivors = cluster.Instances.Where(instance => instance != owner).ToList();
        var survivorTabs = tabs.Where((_, index) => cluster.Instances[index] != owner).ToList();
        foreach (var tab in survivorTabs)
        {
            var resync = await tab.Resyncs.ReadAsync().AsTask().DefaultTimeout();
            Assert.Contains("notes/*", resync.Signal.Topics);
        }

        var takeover = DateTime.UtcNow - killedAt;
        Assert.True(takeover < TimeSpan.FromSeconds(10), $"Takeover took {takeover.TotalSeconds:0.0} s.");
        Assert.Equal(1, survivors.Sum(static instance => instance.Services.GetRequiredService<ClusterNode>().OwnedCount));

        await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = "after" }, user.Token).DefaultTimeout();
        string? afterOffset = null;
        foreach (var tab in survivorTabs)
        {
            var after = await tab.NextEventAsync("update", id);
            Assert.Equal("after", after.Record.GetProperty("title").GetString());
            afterOffset = after.Offset;
            await tab.AssertNoEventAsync();
        }

        // The takeover is a gap in the session's Redis Stream: an offset from before it is not recovered on any
        // instance, one from after it is.
        await using (var late = await survivors[0].ConnectAsync(user.Token))
        {
            var beforeOffset = beforeOffsets[cluster.Instances.IndexOf(survivors[1])];
            var results = await late.Hub.InvokeAsync<Relay.Client.Protocol.SubscribeResult[]>(nameof(Relay.Client.Protocol.IRelayHub.SubscribeMany), new[]
            {
                new Relay.Client.Protocol.SubscribeRequest { Topic = "notes/*", Since = beforeOffset },
            }).DefaultTimeout();
            Assert.False(results[0].Recovered, "An offset from before the takeover spans its gap.");
            results = await late.Hub.InvokeAsync<Relay.Client.Protocol.SubscribeResult[]>(nameof(Relay.Client.Protocol.IRelayHub.SubscribeMany), new[]
            {
                new Relay.Client.Protocol.SubscribeRequest { Topic = "notes/*", Since = afterOffset },
            }).DefaultTimeout();
            Assert.True(results[0].Recovered, "An offset from after the takeover is covered.");
        }

        await WaitForAsync(() => survivors.Sum(static instance => instance.Gauge("relay.upstream.streams")) == 1, "one stream among the survivors");
    }

    [Fact]
    public async Task OwnerStoppedGracefully_StreamHandedOverUnderWrites_EveryEventOnceNoResync()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = Cluster.Start(pocketBase, redis, 3, output);
        var user = await pocketBase.CreateUserAsync("cluster-handover").DefaultTimeout();
        var tabs = new List<TestConnection>();
        foreach (var instance in cluster.Instances)
        {
            tabs.Add(await SubscribedAsync(instance, user.Token, "notes/*"));
        }

        await cluster.WaitForStreamsAsync(1);
        var owner = cluster.Owner();
        var survivorTabs = tabs.Where((_, index) => cluster.Instances[index] != owner).ToList();
        var survivors = cluster.Instances.Where(instance => instance != owner).ToList();
        var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "0", owner = user.Id }, user.Token).DefaultTimeout()).GetProperty("id").GetString()!;

        const int Writes = 80;
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= Writes; i++)
            {
                await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"{i}" }, user.Token).DefaultTimeout();
                await Task.Delay(40);
            }
        });

        await Task.Delay(500);
        await owner.StopAsync();
        await writer.DefaultTimeout();

        foreach (var tab in survivorTabs)
        {
            await tab.NextEventAsync("create", id);
            for (var i = 1; i <= Writes; i++)
            {
                Assert.Equal($"{i}", (await tab.NextEventAsync("update", id)).Record.GetProperty("title").GetString());
            }

            await tab.AssertNoEventAsync();
            Assert.False(tab.Resyncs.TryRead(out var resync), $"Handover sent a Resync ({resync.Signal?.Reason}).");
        }

        Assert.Equal(1, survivors.Sum(static instance => instance.Services.GetRequiredService<ClusterNode>().OwnedCount));
        await WaitForAsync(() => survivors.Sum(static instance => instance.Gauge("relay.upstream.streams")) == 1, "one stream among the survivors");
        Assert.Contains(owner.Logs.Entries, static entry => entry.EventId.Id == 9006);
    }

    [Fact]
    public async Task RedisStoppedAndRestarted_ClientsKeepReceiving_ResyncForGaps_ConvergesToOneStream()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = Cluster.Start(pocketBase, redis, 2, output);
        var user = await pocketBase.CreateUserAsync("cluster-redis-down").DefaultTimeout();
        var tabs = new List<TestConnection>();
        foreach (var instance in cluster.Instances)
        {
            tabs.Add(await SubscribedAsync(instance, user.Token, "notes/*"));
        }

        await cluster.WaitForStreamsAsync(1);
        var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "0", owner = user.Id }, user.Token).DefaultTimeout()).GetProperty("id").GetString()!;
        foreach (var tab in tabs)
        {
            await tab.NextEventAsync("create", id);
        }

        using var stopWriting = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested)
            {
                await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"{written + 1}" }, user.Token).DefaultTimeout();
                Interlocked.Increment(ref written);
                await Task.Delay(100);
            }
        });

        await redis.StopAsync();
        await WaitForAsync(() => cluster.Instances.All(static instance => instance.Gauge("relay.cluster.redis_connected") == 0), "every instance sees Redis down");
        using (var http = new HttpClient { BaseAddress = cluster.Instances[0].Url })
        {
            Assert.Equal("Degraded", await http.GetStringAsync(Microsoft.AspNetCore.Builder.RelayEndpointRouteBuilderExtensions.ReadyPath).DefaultTimeout());
        }

        // Each instance now holds a stream of its own, and its clients keep receiving.
        await WaitForAsync(() => cluster.Streams() == 2, "a stream per instance while Redis is down");
        var duringOutage = Volatile.Read(ref written) + 2;
        foreach (var tab in tabs)
        {
            await ReceiveUntilAsync(tab, id, duringOutage);
        }

        await redis.RestartAsync();
        await WaitForAsync(() => cluster.Streams() == 1, "back to one stream once Redis returns", TimeSpan.FromSeconds(30));
        var afterReturn = Volatile.Read(ref written) + 3;
        await WaitForAsync(() => Volatile.Read(ref written) >= afterReturn, "writes after the return");
        await stopWriting.CancelAsync();
        await writer.DefaultTimeout();
        var last = Volatile.Read(ref written);

        foreach (var tab in tabs)
        {
            // Every switch (to its own stream and back) may lose or repeat events, so each one sent a Resync; after the
            // last one, every change arrived in order.
            var resyncs = 0;
            while (tab.Resyncs.TryRead(out _))
            {
                resyncs++;
            }

            Assert.True(resyncs >= 1, "Falling back to an own stream and back is a gap: the client must be told.");
            await ReceiveUntilAsync(tab, id, last);
        }

        Assert.Equal(1, cluster.Instances.Sum(static instance => instance.Services.GetRequiredService<ClusterNode>().OwnedCount));
    }

    [Fact]
    public async Task GuestTopicsSpreadOverStreamsInAnotherOrderOnEachInstance_EveryEventOnce()
    {
        await using var redis = await RedisProcess.StartAsync();
        // One topic per guest stream: each instance puts a topic on the stream of the order it first saw it in, so the
        // two instances hold the same topic on different session streams.
        await using var cluster = Cluster.Start(pocketBase, redis, 2, output, new() { ["Relay:Sessions:GuestTopicsPerStream"] = "1" });
        var id = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "spread" }).DefaultTimeout()).GetProperty("id").GetString()!;
        var all = "announcements/*";
        var one = $"announcements/{id}";
        var first = cluster.Instances[0];
        var second = cluster.Instances[1];
        TestConnection[] tabs =
        [
            await SubscribedAsync(first, null, all),
            await SubscribedAsync(first, null, one),
            await SubscribedAsync(second, null, one),
            await SubscribedAsync(second, null, all),
        ];
        await cluster.WaitForStreamsAsync(2);

        await pocketBase.Admin.UpdateRecordAsync("announcements", id, new { title = "once" }, null).DefaultTimeout();
        foreach (var tab in tabs)
        {
            Assert.Equal("once", (await tab.NextEventAsync("update", id)).Record.GetProperty("title").GetString());
        }

        foreach (var tab in tabs)
        {
            await tab.AssertNoEventAsync();
        }
    }

    [Fact]
    public async Task BurstOfFirstSubscribesOnAnInstanceNewToTheSession_EveryOneHeld_NoHubError()
    {
        // Found by the cluster-hop benchmark: 1,000 guests subscribing at once on a non-owner instance made the first
        // subscription read the Stream's end synchronously under the session's lock (and connect to Redis on that
        // first call); the burst behind it starved the thread pool and Subscribe failed with an internal error.
        await using var redis = await RedisProcess.StartAsync();
        // Every tab comes from this one loopback address.
        await using var cluster = Cluster.Start(pocketBase, redis, 2, output, new() { ["Relay:GuestLimits:MaxConnectionsPerIp"] = "1000" });
        await using var holder = await SubscribedAsync(cluster.Instances[0], null, "announcements/*");
        await cluster.WaitForStreamsAsync(1);

        await WithBurstAsync(cluster.Instances[1], 200, async burst =>
        {
            await Task.WhenAll(burst.Select(static tab => tab.SubscribeAsync("announcements/*")));

            var id = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "burst" }).DefaultTimeout()).GetProperty("id").GetString()!;
            foreach (var tab in burst)
            {
                Assert.Equal("burst", (await tab.NextEventAsync("create", id)).Record.GetProperty("title").GetString());
            }

            cluster.AssertNoErrorLogs();
        });
    }

    [Fact]
    public async Task BurstOfRecoveringReconnectsOnAnInstanceNewToTheSession_EveryOneRecovered_NoHubError()
    {
        // A deploy moves many clients at once to an instance that has not followed their session yet, each with the
        // offset it last saw: every one is replayed what it missed (the replay reads the Redis Stream under the session's lock).
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = Cluster.Start(pocketBase, redis, 2, output, new() { ["Relay:GuestLimits:MaxConnectionsPerIp"] = "1000" });
        await using var holder = await SubscribedAsync(cluster.Instances[0], null, "announcements/*");
        var seen = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "seen" }).DefaultTimeout()).GetProperty("id").GetString()!;
        var since = (await holder.NextEventAsync("create", seen)).Offset;
        Assert.NotNull(since);
        string[] missed =
        [
            (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "missed 1" }).DefaultTimeout()).GetProperty("id").GetString()!,
            (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "missed 2" }).DefaultTimeout()).GetProperty("id").GetString()!,
        ];
        foreach (var id in missed)
        {
            await holder.NextEventAsync("create", id);
        }

        await WithBurstAsync(cluster.Instances[1], 200, async burst =>
        {
            var results = await Task.WhenAll(burst.Select(tab => tab.Hub.InvokeAsync<Relay.Client.Protocol.SubscribeResult[]>(
                nameof(Relay.Client.Protocol.IRelayHub.SubscribeMany),
                new[] { new Relay.Client.Protocol.SubscribeRequest { Topic = "announcements/*", Since = since } }).DefaultTimeout()));

            Assert.All(results, result => Assert.True(result.Single() is { Error: null, Recovered: true }, $"{result.Single().Error}: {result.Single().Message}"));
            foreach (var tab in burst)
            {
                foreach (var id in missed)
                {
                    await tab.NextEventAsync("create", id);
                }
            }

            cluster.AssertNoErrorLogs();
        });
    }

    /// <summary>Connects <paramref name="count"/> guests to <paramref name="instance"/> at once, runs <paramref name="test"/> on them, then closes them all.</summary>
    private static async Task WithBurstAsync(RelayServer instance, int count, Func<TestConnection[], Task> test)
    {
        var burst = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => instance.ConnectAsync(null)));
        try
        {
            await test(burst);
        }
        finally
        {
            foreach (var tab in burst)
            {
                await tab.DisposeAsync();
            }
        }
    }

    private static async Task<TestConnection> SubscribedAsync(RelayServer instance, string? token, string topic)
    {
        var connection = await instance.ConnectAsync(token);
        await connection.SubscribeAsync(topic);
        return connection;
    }

    /// <summary>Reads updates of <paramref name="id"/> until title <paramref name="title"/>; titles never go backwards.</summary>
    private static async Task ReceiveUntilAsync(TestConnection tab, string id, int title)
    {
        var seen = 0;
        while (seen < title)
        {
            var next = await tab.NextEventAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(id, next.Record.GetProperty("id").GetString());
            seen = int.Parse(next.Record.GetProperty("title").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Default);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    private sealed class Cluster : IAsyncDisposable
    {
        private readonly ITestOutputHelper _output;

        private Cluster(List<RelayServer> instances, ITestOutputHelper output)
        {
            Instances = instances;
            _output = output;
        }

        public List<RelayServer> Instances { get; }

        public static Cluster Start(PocketBaseFixture pocketBase, RedisProcess redis, int count, ITestOutputHelper output, Dictionary<string, string?>? extra = null)
        {
            var settings = new Dictionary<string, string?>
            {
                ["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
                ["Relay:Cluster:LeaseTime"] = "00:00:03",
                ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
                ["Relay:Cluster:HandoverTimeout"] = "00:00:10",
            };
            foreach (var (key, value) in extra ?? [])
            {
                settings[key] = value;
            }

            return new Cluster([.. Enumerable.Range(0, count).Select(_ => RelayServer.Start(pocketBase.Server.Url, settings))], output);
        }

        /// <summary>PocketBase streams held by the whole cluster.</summary>
        public long Streams() => Instances.Sum(static instance => instance.Gauge("relay.upstream.streams"));

        public Task WaitForStreamsAsync(long expected) => WaitForAsync(() => Streams() == expected, $"{expected} PocketBase streams across the cluster");

        public RelayServer Owner() => Instances.Single(static instance => instance.Services.GetRequiredService<ClusterNode>().OwnedCount > 0);

        public void AssertNoErrorLogs()
        {
            foreach (var instance in Instances)
            {
                instance.AssertNoErrorLogs();
            }
        }

        public async ValueTask DisposeAsync()
        {
            for (var i = 0; i < Instances.Count; i++)
            {
                // What each instance did as a cluster member, for the reader of a failed run.
                foreach (var entry in Instances[i].Logs.Entries.Where(static e => e.Category.StartsWith("Relay.Cluster", StringComparison.Ordinal) || e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning))
                {
                    _output.WriteLine($"[{i}] {entry.Timestamp:HH:mm:ss.fff} {entry.Level} {entry.Category}: {entry.Text}");
                }

                await Instances[i].DisposeAsync();
            }
        }
    }
}
