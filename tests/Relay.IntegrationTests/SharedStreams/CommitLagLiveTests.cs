using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// Issue 22, item 5: <c>relay.shared.commit_lag</c> against the real PocketBase of the run. The <c>updated</c> text form
/// it parses is the one PocketBase really sends (0.22.20 and 0.40.4), and one write seen by one user in two tabs is one
/// observation, not one per tab; a delete is none.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed partial class CommitLagLiveTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Write_TwoTabsOfOneUser_OneObservationPerEvent_DeleteNone()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        using var lag = new MetricCollector<double>(relay.Services.GetRequiredService<IMeterFactory>(), "Relay", "relay.shared.commit_lag");
        var user = await pocketBase.CreateUserAsync("lag");
        var first = await relay.ConnectAsync(user.Token);
        var second = await relay.ConnectAsync(user.Token);
        await first.SubscribeAsync("announcements/*");
        await second.SubscribeAsync("announcements/*");

        var written = DateTimeOffset.UtcNow;
        var record = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "lag" }).DefaultTimeout();
        var id = record.GetProperty("id").GetString()!;
        var created = await first.NextEventAsync("create", id);
        await second.NextEventAsync("create", id);

        var updated = created.Record.GetProperty("updated").GetString()!;
        Assert.Matches(PocketBaseTime(), updated);
        var measurement = Assert.Single(lag.GetMeasurementSnapshot());
        Assert.Equal("announcements", measurement.Tags["collection"]);
        // Bounded by what the test itself saw: from before the write to after both tabs had the event.
        Assert.InRange(measurement.Value, 0, (DateTimeOffset.UtcNow - written).TotalMilliseconds + 1);

        await pocketBase.Admin.DeleteRecordAsync("announcements", id).DefaultTimeout();
        await first.NextEventAsync("delete", id);
        await second.NextEventAsync("delete", id);
        Assert.Single(lag.GetMeasurementSnapshot());
        await TestResults.AppendAsync($"Commit lag on PocketBase {pocketBase.Version}: updated \"{updated}\", one create observed once at {measurement.Value:F1} ms");
    }

    // Both versions: "2026-12-07 10:00:00.123Z" (a space, milliseconds, Z).
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex PocketBaseTime();
}
