using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// PocketBase 0.39+ ends every realtime stream 30 minutes after it opened, busy or not. With default settings Relay
/// replaces its streams before that (make before break), so a session that lives longer sees no <c>Resync</c>. Takes
/// about 32 minutes, so it is in no default run: it exists only when <c>RELAY_LIFETIME_TESTS=1</c> is set; run it with
/// <c>RELAY_LIFETIME_TESTS=1 dotnet test tests/Relay.IntegrationTests --filter Category=Lifetime</c> (either version).
/// </summary>
[Collection(PocketBaseCollection.Name)]
[Trait("Category", "Lifetime")]
public sealed class PocketBaseLiveLifetimeTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromMinutes(31.5);
    private static readonly TimeSpan WriteEvery = TimeSpan.FromSeconds(20);

    [OptInFact("RELAY_LIFETIME_TESTS")]
    public async Task SessionLongerThanPocketBasesMaximumStreamLifetime_RotatedBeforeIt_EveryEventOnce_NoResync()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var rotations = new MetricCollector<long>(meters, "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(meters, "Relay", "relay.upstream.streams_lost");
        var user = await pocketBase.CreateUserAsync("lifetime");
        var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");

        // The control: a plain client straight to PocketBase, fed the same writes, so the test shows PocketBase's own
        // limit (0.39+ closes it at 30 minutes; 0.22 keeps a busy stream open) rather than assume it.
        await using var direct = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, await direct.SubscribeAsync(["announcements/*"]));

        // Steady writes, so no stream is ever idle long enough to be rotated for that: only the lifetime matters.
        var notes = new List<string>();
        var announcements = new List<string>();
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < Duration)
        {
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"n{notes.Count}", owner = user.Id }, user.Token).DefaultTimeout();
            notes.Add(note.GetProperty("id").GetString()!);
            var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = $"a{announcements.Count}" }).DefaultTimeout();
            announcements.Add(announcement.GetProperty("id").GetString()!);
            await Task.Delay(WriteEvery);
        }

        var userReceived = await ReceiveAsync(tab, notes.Count);
        var guestReceived = await ReceiveAsync(guest, announcements.Count);
        await tab.AssertNoEventAsync();
        await guest.AssertNoEventAsync();
        var resyncs = (tab.Resyncs.TryRead(out _) ? 1 : 0) + (guest.Resyncs.TryRead(out _) ? 1 : 0);
        var byReason = rotations.GetMeasurementSnapshot()
            .GroupBy(m => m.Tags.TryGetValue("reason", out var reason) ? reason?.ToString() : "?")
            .ToDictionary(g => g.Key ?? "?", g => g.Sum(m => m.Value));
        var directClosedAfter = direct.Closed.IsCompleted ? (await direct.Closed - direct.OpenedAt) : (TimeSpan?)null;
        var line = $"stream lifetime (real PocketBase {pocketBase.Server.Version}, {Duration.TotalMinutes} min, a write every {WriteEvery.TotalSeconds:0} s, default settings): "
            + $"direct client closed by PocketBase after {(directClosedAfter is { } after ? $"{after.TotalMinutes:0.0} min" : "never")}; "
            + $"Relay rotations {string.Join(", ", byReason.Select(r => $"{r.Key} {r.Value}"))}, unplanned losses {lost.GetMeasurementSnapshot().Count}, "
            + $"{notes.Count + announcements.Count} events, lost {notes.Except(userReceived).Count() + announcements.Except(guestReceived).Count()}, Resyncs {resyncs}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        if (pocketBase.Server.Version.BindsRealtimeClientToAddress)
        {
            Assert.True(directClosedAfter is { } closed && closed > TimeSpan.FromMinutes(29) && closed < TimeSpan.FromMinutes(31), $"PocketBase closed the direct stream after {directClosedAfter}");
        }
        else
        {
            Assert.Null(directClosedAfter);
        }

        Assert.Equal(notes, userReceived);
        Assert.Equal(announcements, guestReceived);
        Assert.Equal(0, resyncs);
        Assert.Empty(lost.GetMeasurementSnapshot());
        // Both streams (the user's and the guests') were replaced for their age, before PocketBase's limit.
        Assert.True(byReason.GetValueOrDefault("lifetime") >= 2, $"lifetime rotations: {byReason.GetValueOrDefault("lifetime")}");
        relay.AssertNoErrorLogs();
    }

    private static async Task<List<string>> ReceiveAsync(TestConnection connection, int count)
    {
        var ids = new List<string>();
        while (ids.Count < count)
        {
            ids.Add((await connection.NextEventAsync()).Record.GetProperty("id").GetString()!);
        }

        return ids;
    }
}
