using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// A real idle period longer than PocketBase's own 5-minute limit, with default settings. Takes about 6 minutes, so it
/// is tagged Slow and scripts/test.sh runs it beside the other suites.
/// </summary>
[Collection(PocketBaseCollection.Name)]
[Trait("Category", "Slow")]
public sealed class QuietStreamTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(330);

    [Fact]
    public async Task SilenceLongerThanPocketBasesIdleLimit_NoResync_DeliveryRightAfter()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var rotations = new MetricCollector<long>(meters, "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(meters, "Relay", "relay.upstream.streams_lost");
        var user = await pocketBase.CreateUserAsync("quiet");
        var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");

        // The control: a plain client straight to PocketBase, so the test shows PocketBase's idle close on the version
        // of the run (5 minutes after its last message, on 0.22 and 0.23+ alike) rather than assume it.
        await using var direct = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, await direct.SubscribeAsync(["announcements/*"]));

        await Task.Delay(Silence);

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after the silence", owner = user.Id }, user.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "after the silence" }).DefaultTimeout();
        await guest.NextEventAsync("create", announcement.GetProperty("id").GetString()!);

        var resyncs = (tab.Resyncs.TryRead(out _) ? 1 : 0) + (guest.Resyncs.TryRead(out _) ? 1 : 0);
        var directClosedAfter = direct.Closed.IsCompleted ? await direct.Closed - direct.OpenedAt : (TimeSpan?)null;
        var line = $"quiet session (real PocketBase {pocketBase.Server.Version}, {Silence.TotalSeconds:0} s without a message, default settings): "
            + $"direct client closed by PocketBase after {(directClosedAfter is { } after ? $"{after.TotalSeconds:0} s" : "never")}; user + guest Resyncs {resyncs} "
            + $"(before: 1 each, i.e. 12 per hour per session), planned rotations {rotations.GetMeasurementSnapshot().Count}, unplanned losses {lost.GetMeasurementSnapshot().Count}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.True(directClosedAfter is { } closed && closed > TimeSpan.FromSeconds(290) && closed < TimeSpan.FromSeconds(320), $"PocketBase closed the idle direct stream after {directClosedAfter}");
        Assert.Equal(0, resyncs);
        Assert.Empty(lost.GetMeasurementSnapshot());
        Assert.True(rotations.GetMeasurementSnapshot().Count >= 2, "both streams were rotated before PocketBase's idle limit");
        relay.AssertNoErrorLogs();
    }
}
