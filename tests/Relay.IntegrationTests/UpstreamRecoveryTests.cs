using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>PocketBase dies mid-stream and comes back: nothing is lost silently.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class UpstreamRecoveryTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task PocketBaseKilledAndRestarted_EveryConnectionResynced_DeliveryResumes_NoLeaks()
    {
        const int Users = 8;
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:PocketBase:ReconnectBaseDelay"] = "00:00:00.100",
            ["Relay:PocketBase:ReconnectMaxDelay"] = "00:00:01",
        });
        var users = new List<(Testing.PocketBase.PocketBaseUser User, TestConnection[] Tabs)>();
        for (var i = 0; i < Users; i++)
        {
            var user = await pocketBase.CreateUserAsync($"recovery{i}");
            var tabs = new[] { await relay.ConnectAsync(user.Token), await relay.ConnectAsync(user.Token) };
            foreach (var tab in tabs)
            {
                await tab.SubscribeAsync("notes/*");
            }

            users.Add((user, tabs));
        }

        var guests = new List<TestConnection>();
        for (var i = 0; i < 3; i++)
        {
            var guest = await relay.ConnectAsync(token: null);
            await guest.SubscribeAsync("announcements/*");
            guests.Add(guest);
        }

        Assert.Equal(Users + 1, relay.Gauge("relay.upstream.streams"));

        await pocketBase.Server.KillAsync().DefaultTimeout();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await pocketBase.Server.StartAgainAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var up = Stopwatch.GetTimestamp();

        // Every connection is told its topics may have missed events.
        var recovery = new List<double>();
        foreach (var connection in users.SelectMany(u => u.Tabs).Concat(guests))
        {
            var (signal, receivedAt) = await connection.Resyncs.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            recovery.Add(Stopwatch.GetElapsedTime(up, receivedAt).TotalMilliseconds);
            Assert.Equal(ResyncReasons.UpstreamReconnected, signal.Reason);
            Assert.NotEmpty(signal.Topics);
        }

        recovery.Sort();
        var line = $"recovery after PocketBase restart ({recovery.Count} connections, {Users + 1} streams): p50 {recovery[recovery.Count / 2]:0} ms, max {recovery[^1]:0} ms";
        await TestResults.AppendAsync(line);
        output.WriteLine($"recovery after PocketBase restart ({recovery.Count} connections, {Users + 1} streams): p50 {recovery[recovery.Count / 2]:0} ms, max {recovery[^1]:0} ms");

        // Reconnects are spread by jitter, not synchronized.
        var reconnects = relay.Logs.Entries.Where(e => e.EventId.Name == "Resubscribed").Select(e => e.Timestamp).Order().ToList();
        Assert.Equal(Users + 1, reconnects.Count);
        var spread = reconnects[^1] - reconnects[0];
        output.WriteLine($"reconnect spread across {reconnects.Count} sessions: {spread.TotalMilliseconds:0} ms");
        Assert.True(spread > TimeSpan.FromMilliseconds(30), $"reconnects within {spread.TotalMilliseconds:0} ms of each other: not jittered");

        // Delivery resumes for every user, still only to that user.
        foreach (var (user, tabs) in users)
        {
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after recovery", owner = user.Id }, user.Token).DefaultTimeout();
            foreach (var tab in tabs)
            {
                await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
            }
        }

        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "back" }).DefaultTimeout();
        foreach (var guest in guests)
        {
            await guest.NextEventAsync("create", announcement.GetProperty("id").GetString()!);
        }

        foreach (var connection in users.SelectMany(u => u.Tabs).Concat(guests))
        {
            await connection.AssertNoEventAsync(TimeSpan.Zero);
        }

        // No leaks: one stream per session still, none left behind by the failed attempts.
        Assert.Equal(Users + 1, relay.Gauge("relay.upstream.streams"));
        Assert.Equal(Users, relay.Gauge("relay.sessions", new("kind", "user")));
    }

    [Fact]
    public async Task StreamClosedByPocketBase_ReconnectResubscribeResync_VisibleInMetrics()
    {
        await using var proxy = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(proxy.Url);
        using var lost = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Relay", "relay.upstream.streams_lost");
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*");

        // What PocketBase does at its 5-minute idle limit (and 30-minute lifetime in newer versions): end the stream.
        proxy.CloseAll();

        var (signal, _) = await tab.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(ResyncReasons.UpstreamReconnected, signal.Reason);
        Assert.Equal(["notes/*"], signal.Topics);
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after the close", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        // The reason depends on what noticed first (the read ending, or a subscription POST on the cut connection).
        Assert.Contains(lost.GetMeasurementSnapshot(), m => m.Tags.TryGetValue("reason", out var reason) && (string?)reason is "closed_by_server" or "error" or "sync_failed");
        Assert.Equal(1, relay.Gauge("relay.upstream.streams"));
        relay.AssertNoErrorLogs();
    }
}
