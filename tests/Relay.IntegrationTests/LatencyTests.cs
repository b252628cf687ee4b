using System.Diagnostics;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// Measures (does not assert) end-to-end latency: from issuing a record create to PocketBase until the event is in a
/// SignalR client's handler. Targets live in benchmarks; this prints the figures for the record.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class LatencyTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task EndToEnd_CreateToHandler_Measured()
    {
        const int Samples = 250;
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var owner = await relay.ConnectAsync(pocketBase.Alice.Token);
        var otherTab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await owner.SubscribeAsync("notes/*");
        await otherTab.SubscribeAsync("notes/*");

        var samples = new List<double>(Samples);
        for (var i = 0; i < Samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var created = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"latency {i}", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
            await otherTab.NextEventAsync("create", created.GetProperty("id").GetString()!);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            await owner.NextEventAsync("create", created.GetProperty("id").GetString()!);
        }

        samples.Sort();
        var line = $"relay end-to-end latency over {Samples} creates (REST create issued -> SignalR handler): "
            + $"p50 {Percentile(samples, 0.50):0.0} ms, p90 {Percentile(samples, 0.90):0.0} ms, p99 {Percentile(samples, 0.99):0.0} ms, max {samples[^1]:0.0} ms";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.Equal(Samples, samples.Count);
        relay.AssertNoErrorLogs();
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
