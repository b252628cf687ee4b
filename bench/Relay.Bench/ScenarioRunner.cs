using System.Diagnostics;

namespace Relay.Bench;

/// <summary>Starts the clients (in their own process), writes at a rate, waits for the deliveries and measures every process meanwhile.</summary>
internal sealed class ScenarioRunner(BenchEnvironment environment)
{
    public const string RelayJson = "relay-json";
    public const string RelayMessagePack = "relay-msgpack";
    public const string Direct = "direct-sse";

    public Uri UrlFor(string path) => path == Direct ? environment.PocketBase.Url : environment.RelayUrl;

    /// <summary>One measured run: writes for <paramref name="duration"/> at <paramref name="rate"/>, then waits for what is due.</summary>
    public async Task<ScenarioResult> RunAsync(
        string scenario,
        string path,
        IReadOnlyList<(string? Token, string Topic)> connections,
        double rate,
        TimeSpan duration,
        Func<int, (string Collection, object Extra, string? Token)> next,
        int recipientsPerWrite,
        string note = "")
    {
        Console.Error.WriteLine($"  {scenario}/{path}: connecting {connections.Count}...");
        await using var clients = await ClientsProcess.StartAsync(path, UrlFor(path), connections);
        await Task.Delay(500);
        var streams = path == Direct ? connections.Count : environment.UpstreamStreams();

        var relayCpu = ProcessStats.CpuSeconds(environment.RelayPid);
        var pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid);
        var clientsCpu = ProcessStats.CpuSeconds(clients.Pid);
        long peakRss = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, ProcessStats.RssBytes(environment.RelayPid));
                await Task.Delay(100);
            }
        });

        Console.Error.WriteLine($"  {scenario}/{path}: writing {rate}/s for {duration.TotalSeconds} s...");
        var clock = Stopwatch.StartNew();
        var (writes, failedWrites) = await Writer.WriteAsync(environment.PocketBase.Admin, rate, duration, next);
        long expected = (long)writes * recipientsPerWrite;
        var delivered = await clients.DrainAsync(expected);

        var seconds = clock.Elapsed.TotalSeconds;
        relayCpu = ProcessStats.CpuSeconds(environment.RelayPid) - relayCpu;
        pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid) - pocketBaseCpu;
        clientsCpu = ProcessStats.CpuSeconds(clients.Pid) - clientsCpu;
        await sampling.CancelAsync();
        await sampler;

        await clients.DisposeAsync();
        // Let Relay's sessions pass their linger and close their PocketBase streams before the next run.
        await Task.Delay(1500);

        if (failedWrites > 0)
        {
            note += $"; {failedWrites} writes failed";
        }

        return new ScenarioResult(
            scenario,
            path,
            connections.Count,
            writes,
            expected,
            delivered.Count,
            seconds,
            delivered.P50,
            delivered.P95,
            delivered.P99,
            delivered.Max,
            path == Direct ? 0 : relayCpu,
            path == Direct ? 0 : peakRss / 1048576.0,
            pocketBaseCpu,
            clientsCpu,
            streams,
            note);
    }
}
