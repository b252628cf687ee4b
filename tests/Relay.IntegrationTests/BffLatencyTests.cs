using System.Diagnostics;
using System.Globalization;
using System.Net;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>What the BFF proxy adds to a REST call: the same GET through Relay's <c>/api/*</c> and straight to PocketBase.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffLatencyTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Calls = 500;
    private const int WarmUp = 50;
    private const string Path = "api/collections/notes/records?perPage=1";

    [Fact]
    public async Task ProxiedRestCall_AddedLatency_Measured()
    {
        await pocketBase.Admin.CreateRecordAsync("notes", new { title = "latency probe", owner = pocketBase.Alice.Id });
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        using var direct = new HttpClient { BaseAddress = pocketBase.Server.Url, Timeout = TestTimeouts.Default };
        direct.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", pocketBase.Alice.Token);

        var viaRelay = new List<double>(Calls);
        var straight = new List<double>(Calls);
        // Interleaved, so both see the same machine load; both bodies are read in full and must be alice's same page.
        for (var i = 0; i < WarmUp + Calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using (var proxied = await browser.SendAsync(HttpMethod.Get, Path, csrf: false))
            {
                var body = await proxied.Content.ReadAsStringAsync().DefaultTimeout();
                Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
                Assert.Contains(pocketBase.Alice.Id, body, StringComparison.Ordinal);
            }

            var proxiedMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            start = Stopwatch.GetTimestamp();
            using (var response = await direct.GetAsync(Path).DefaultTimeout())
            {
                var body = await response.Content.ReadAsStringAsync().DefaultTimeout();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains(pocketBase.Alice.Id, body, StringComparison.Ordinal);
            }

            var directMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (i >= WarmUp)
            {
                viaRelay.Add(proxiedMs);
                straight.Add(directMs);
            }
        }

        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"bff proxy: GET /{Path} over {Calls} calls: via Relay p50 {Percentile(viaRelay, 50):F2} ms, p99 {Percentile(viaRelay, 99):F2} ms; " +
            $"PocketBase direct p50 {Percentile(straight, 50):F2} ms, p99 {Percentile(straight, 99):F2} ms; " +
            $"added p50 {Percentile(viaRelay, 50) - Percentile(straight, 50):F2} ms, p99 {Percentile(viaRelay, 99) - Percentile(straight, 99):F2} ms");
        output.WriteLine(line);
        Console.WriteLine(line);
        await TestResults.AppendAsync(line);
        relay.AssertNoErrorLogs();
    }

    private static double Percentile(List<double> samples, int percentile)
    {
        var sorted = samples.Order().ToList();
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
