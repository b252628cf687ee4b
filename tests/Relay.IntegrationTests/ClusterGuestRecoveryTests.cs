using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// Recovery across instances of guest topics spread over several PocketBase streams: each stream has its own Redis
/// Stream (and epoch), so the instance a guest reconnects to finds the Stream from each topic's <c>since</c> (real
/// PocketBase, real <c>redis-server</c>).
/// </summary>
// Slow (two instances, an offline period): runs in the parallel pass of scripts/test.sh, on its own PocketBase.
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterGuestRecoveryTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task GuestTopicsOnTwoStreams_OfflineOnA_ReconnectsToB_MissedEventsOfEachTopicOnceNoResync()
    {
        await using var redis = await RedisProcess.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
            ["Relay:Cluster:LeaseTime"] = "00:00:03",
            ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
            // One topic per stream: the guest's two topics are on two streams, each with its own Redis Stream.
            ["Relay:Sessions:GuestTopicsPerStream"] = "1",
            ["Relay:Sessions:MaxGuestStreams"] = "3",
        };
        await using var a = RelayServer.Start(pocketBase.Server.Url, settings);
        await using var b = RelayServer.Start(pocketBase.Server.Url, settings);
        string[] ids =
        [
            (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "r0 0" }).DefaultTimeout()).GetProperty("id").GetString()!,
            (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "r1 0" }).DefaultTimeout()).GetProperty("id").GetString()!,
        ];

        // Online on A: each topic's last offset is that of its last event, as a client keeps it.
        var offsets = new string[ids.Length];
        await using (var onA = await a.ConnectAsync(token: null))
        {
            var subscribed = await SubscribeSinceAsync(onA, ids, [null, null]);
            Assert.All(subscribed, result => Assert.Null(result.Error));
            Assert.Equal(2, a.Gauge("relay.upstream.streams"));
            for (var i = 0; i < ids.Length; i++)
            {
                await pocketBase.Admin.UpdateRecordAsync("announcements", ids[i], new { title = $"r{i} 1" }).DefaultTimeout();
                offsets[i] = (await onA.NextEventAsync("update", ids[i])).Offset!;
                Assert.NotNull(offsets[i]);
            }
        }

        // Two Streams: the offsets' epochs differ (the test would prove nothing on one).
        Assert.NotEqual(offsets[0][..offsets[0].IndexOf('-', StringComparison.Ordinal)], offsets[1][..offsets[1].IndexOf('-', StringComparison.Ordinal)]);

        // Offline while both records change twice.
        const int Missed = 2;
        for (var n = 2; n < 2 + Missed; n++)
        {
            for (var i = 0; i < ids.Length; i++)
            {
                await pocketBase.Admin.UpdateRecordAsync("announcements", ids[i], new { title = $"r{i} {n}" }).DefaultTimeout();
            }
        }

        await using var onB = await b.ConnectAsync(token: null);
        var results = await SubscribeSinceAsync(onB, ids, offsets);
        Assert.All(results, result => Assert.Null(result.Error));
        Assert.True(results.All(result => result.Recovered), $"Recovered: {string.Join(", ", results.Select(result => $"{result.Topic}={result.Recovered}"))}.");
        var replayed = new List<RelayEvent>();
        for (var k = 0; k < ids.Length * Missed; k++)
        {
            replayed.Add(await onB.NextEventAsync(TimeSpan.FromSeconds(30)));
        }

        for (var i = 0; i < ids.Length; i++)
        {
            var topic = $"announcements/{ids[i]}";
            Assert.Equal(
                Enumerable.Range(2, Missed).Select(n => $"r{i} {n}"),
                replayed.Where(e => e.Topic == topic).Select(e => e.Record.GetProperty("title").GetString()));
        }

        await onB.AssertNoEventAsync();
        Assert.False(onB.Resyncs.TryRead(out var resync), $"Recovered: no Resync ({resync.Signal?.Reason} for {string.Join(", ", resync.Signal?.Topics ?? [])}).");

        // Live after the replay, once.
        await pocketBase.Admin.UpdateRecordAsync("announcements", ids[1], new { title = "live" }).DefaultTimeout();
        Assert.Equal("live", (await onB.NextEventAsync(TimeSpan.FromSeconds(30))).Record.GetProperty("title").GetString());
        await onB.AssertNoEventAsync();
        output.WriteLine($"guest topics on 2 Streams recovered on another instance: {replayed.Count} events replayed");
        a.AssertNoErrorLogs();
        b.AssertNoErrorLogs();
    }

    private static Task<SubscribeResult[]> SubscribeSinceAsync(TestConnection connection, string[] ids, string?[] since)
        => connection.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), ids.Select((id, i) => new SubscribeRequest
        {
            Topic = $"announcements/{id}",
            Since = since[i],
        }).ToArray()).DefaultTimeout();
}
