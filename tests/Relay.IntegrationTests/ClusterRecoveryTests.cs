using System.Diagnostics;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// Recovery across instances in cluster mode: the session's event log is its Redis Stream, so a client that was on one
/// instance and reconnects to another is replayed what it missed (real PocketBase, real <c>redis-server</c>).
/// </summary>
// Slow (offline periods of several seconds): runs in the parallel pass of scripts/test.sh, on its own PocketBase.
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterRecoveryTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int MaxEvents = 10;

    [Fact]
    public async Task OfflineOnInstanceA_ReconnectsToB_MissedEventsInOrderNoResync_LongerThanHistoryResyncs()
    {
        await using var redis = await RedisProcess.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
            ["Relay:Cluster:LeaseTime"] = "00:00:03",
            ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
            ["Relay:History:MaxEvents"] = MaxEvents.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await using var a = RelayServer.Start(pocketBase.Server.Url, settings);
        await using var b = RelayServer.Start(pocketBase.Server.Url, settings);
        var user = await pocketBase.CreateUserAsync("cluster-recovery").DefaultTimeout();

        // Offline ~6 s while someone else (the admin) writes 6 changes to the user's note: recovered on B, in order, nothing else.
        var (id, offset) = await OnlineOnAAsync(a, user);
        const int Missed = 6;
        for (var i = 1; i <= Missed; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"{i}" }).DefaultTimeout();
        }

        await using (var onB = await b.ConnectAsync(user.Token))
        {
            var clock = Stopwatch.StartNew();
            var results = await SubscribeSinceAsync(onB, offset);
            var answered = clock.Elapsed;
            Assert.Null(results[0].Error);
            Assert.True(results[0].Recovered, "The Stream covers the missed events: recovered on another instance.");
            for (var i = 1; i <= Missed; i++)
            {
                var replayed = await onB.NextEventAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(id, replayed.Record.GetProperty("id").GetString());
                Assert.Equal($"{i}", replayed.Record.GetProperty("title").GetString());
                Assert.Equal("notes/*", replayed.Topic);
                Assert.NotNull(replayed.Offset);
            }

            var elapsed = clock.Elapsed;
            await onB.AssertNoEventAsync();
            Assert.False(onB.Resyncs.TryRead(out _), "Recovered: no Resync.");

            // Live after the replay, once.
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = "live" }).DefaultTimeout();
            Assert.Equal("live", (await onB.NextEventAsync(TimeSpan.FromSeconds(30))).Record.GetProperty("title").GetString());
            await onB.AssertNoEventAsync();

            // The same entry under another Stream epoch (a Stream deleted and created again) is not covered.
            var foreign = string.Concat("0123456789abcdef", offset.AsSpan(offset.IndexOf('-', StringComparison.Ordinal)));
            Assert.NotEqual(offset, foreign);
            Assert.False((await SubscribeSinceAsync(onB, foreign))[0].Recovered);
            Assert.True((await SubscribeSinceAsync(onB, offset))[0].Recovered);
            output.WriteLine($"reconnect to last missed event replayed: {elapsed.TotalMilliseconds:F0} ms (SubscribeMany answered after {answered.TotalMilliseconds:F0} ms)");
            await TestResults.AppendAsync($"Cluster recovery on another instance: reconnect (SubscribeMany with since) to the last of {Missed} missed events replayed: {elapsed.TotalMilliseconds:F0} ms (SubscribeMany answered after {answered.TotalMilliseconds:F0} ms; it also waits for the owner to confirm the topic)");
        }

        // Offline for more changes than the history holds: not recovered (the client resyncs).
        (id, offset) = await OnlineOnAAsync(a, user);
        for (var i = 1; i <= MaxEvents + 5; i++)
        {
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"{i}" }).DefaultTimeout();
        }

        await using (var onB = await b.ConnectAsync(user.Token))
        {
            // B fans the changes out before the reconnect: it follows the Stream since the first part.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var results = await SubscribeSinceAsync(onB, offset);
            Assert.Null(results[0].Error);
            Assert.False(results[0].Recovered, "More changes than Relay:History:MaxEvents: the history no longer covers them.");
            await onB.AssertNoEventAsync();
        }

        a.AssertNoErrorLogs();
        b.AssertNoErrorLogs();
    }

    /// <summary>A tab on A sees a note of <paramref name="user"/> created by the admin, then goes offline; returns the note and the tab's last offset.</summary>
    private async Task<(string Id, string Offset)> OnlineOnAAsync(RelayServer a, PocketBaseUser user)
    {
        await using var onA = await a.ConnectAsync(user.Token);
        await SubscribeSinceAsync(onA, since: null);
        var id = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "0", owner = user.Id }).DefaultTimeout()).GetProperty("id").GetString()!;
        var created = await onA.NextEventAsync("create", id);
        Assert.NotNull(created.Offset);
        return (id, created.Offset!);
    }

    private static Task<SubscribeResult[]> SubscribeSinceAsync(TestConnection connection, string? since)
        => connection.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[]
        {
            new SubscribeRequest { Topic = "notes/*", Since = since },
        }).DefaultTimeout();
}
