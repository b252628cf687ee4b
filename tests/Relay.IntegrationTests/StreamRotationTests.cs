using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>Planned stream rotation against the real PocketBase: make before break, every event exactly once, no Resync.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class StreamRotationTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task SteadyWrites_ThroughRepeatedRotationsOfUserAndGuestStreams_EveryEventOnceInOrder_NoResync()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            // Short limits from configuration, so several rotations happen within seconds.
            ["Relay:PocketBase:RotateAfterLifetime"] = "00:00:03",
            ["Relay:PocketBase:RotationOverlap"] = "00:00:00.500",
        });
        using var rotations = new MetricCollector<long>(relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Relay", "relay.upstream.streams_lost");
        var user = await pocketBase.CreateUserAsync("rotation");
        var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");

        // Steady writes until both streams have rotated at least three times (and a little more).
        var notes = new List<string>();
        var announcements = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (RotationsOf("users") < 3 || RotationsOf("guest") < 3 || notes.Count < 60)
        {
            Assert.True(DateTime.UtcNow < deadline, $"rotations so far: user {RotationsOf("users")}, guest {RotationsOf("guest")}");
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"n{notes.Count}", owner = user.Id }, user.Token).DefaultTimeout();
            notes.Add(note.GetProperty("id").GetString()!);
            var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = $"a{announcements.Count}" }).DefaultTimeout();
            announcements.Add(announcement.GetProperty("id").GetString()!);
            await Task.Delay(50);
        }

        var userReceived = await ReceiveAsync(tab, notes.Count);
        var guestReceived = await ReceiveAsync(guest, announcements.Count);
        await tab.AssertNoEventAsync();
        await guest.AssertNoEventAsync();
        var extraUser = tab.Drain().Count;
        var extraGuest = guest.Drain().Count;

        var userLost = notes.Except(userReceived).Count();
        var guestLost = announcements.Except(guestReceived).Count();
        var duplicated = userReceived.Count - userReceived.Distinct().Count() + guestReceived.Count - guestReceived.Distinct().Count() + extraUser + extraGuest;
        var resyncs = (tab.Resyncs.TryRead(out _) ? 1 : 0) + (guest.Resyncs.TryRead(out _) ? 1 : 0);
        var line = $"stream rotation (real PocketBase, lifetime 3 s): user stream {RotationsOf("users")} rotations, guest stream {RotationsOf("guest")}; "
            + $"{notes.Count + announcements.Count} events, lost {userLost + guestLost}, duplicated {duplicated}, out of order {OutOfOrder(notes, userReceived) + OutOfOrder(announcements, guestReceived)}, Resyncs {resyncs}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.Equal(notes, userReceived);
        Assert.Equal(announcements, guestReceived);
        Assert.Equal(0, duplicated);
        Assert.Equal(0, resyncs);
        Assert.Empty(lost.GetMeasurementSnapshot());
        // One stream per session again once no overlap is in progress (there are two during each overlap).
        await relay.WaitForGaugeAsync("relay.upstream.streams", 2);
        relay.AssertNoErrorLogs();

        // The user's session is named by its collection and record id; the guests' is "guest".
        int RotationsOf(string session) => relay.Logs.Entries.Count(e => e.EventId.Name == "Rotated"
            && e.Text.Contains("guest", StringComparison.Ordinal) == (session == "guest"));
    }

    private static async Task<List<string>> ReceiveAsync(TestConnection connection, int count)
    {
        var ids = new List<string>();
        while (ids.Count < count)
        {
            var next = await connection.NextEventAsync();
            ids.Add(next.Record.GetProperty("id").GetString()!);
        }

        return ids;
    }

    private static int OutOfOrder(List<string> sent, List<string> received)
        => received.Zip(received.Skip(1)).Count(pair => sent.IndexOf(pair.First) > sent.IndexOf(pair.Second));
}
