using System.Diagnostics;

namespace Relay.Bench;

/// <summary>Connects clients, writes at a rate, waits for the deliveries and measures both processes meanwhile.</summary>
internal sealed class ScenarioRunner(BenchEnvironment environment)
{
    public const string RelayJson = "relay-json";
    public const string RelayMessagePack = "relay-msgpack";
    public const string Direct = "direct-sse";

    public async Task<List<IBenchClient>> ConnectAsync(string path, IReadOnlyList<(string? Token, string Topic)> connections, RecordSink sink)
    {
        var clients = new IBenchClient[connections.Count];
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(connections.Select(async (connection, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var client = path == Direct
                    ? await DirectSseClient.ConnectAsync(environment.PocketBase.Url, connection.Token, sink)
                    : await RelayBenchClient.ConnectAsync(environment.RelayUrl, connection.Token, path == RelayMessagePack, sink);
                await client.SubscribeAsync(connection.Topic);
                clients[i] = client;
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. clients];
    }

    public static async Task DisconnectAsync(List<IBenchClient> clients)
    {
        using var gate = new SemaphoreSlim(128);
        await Task.WhenAll(clients.Select(async client =>
        {
            await gate.WaitAsync();
            try
            {
                await client.DisposeAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

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
        var histogram = new LatencyHistogram();
        Console.Error.WriteLine($"  {scenario}/{path}: connecting {connections.Count}...");
        var clients = await ConnectAsync(path, connections, Clock.Measure(histogram));
        await Task.Delay(500);
        var streams = path == Direct ? clients.Count : environment.UpstreamStreams();

        var relayCpu = ProcessStats.CpuSeconds(environment.RelayPid);
        var pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid);
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
        var writes = await Writer.WriteAsync(environment.PocketBase.Admin, rate, duration, next);
        long expected = (long)writes * recipientsPerWrite;
        var drainDeadline = DateTime.UtcNow.AddSeconds(15);
        var lastCount = -1L;
        var lastProgress = DateTime.UtcNow;
        while (histogram.Count < expected && DateTime.UtcNow < drainDeadline)
        {
            if (histogram.Count != lastCount)
            {
                lastCount = histogram.Count;
                lastProgress = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - lastProgress > TimeSpan.FromSeconds(3))
            {
                break;
            }

            await Task.Delay(20);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        relayCpu = ProcessStats.CpuSeconds(environment.RelayPid) - relayCpu;
        pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid) - pocketBaseCpu;
        await sampling.CancelAsync();
        await sampler;

        await DisconnectAsync(clients);
        // Let Relay's sessions pass their linger and close their PocketBase streams before the next run.
        await Task.Delay(1500);

        return new ScenarioResult(
            scenario,
            path,
            connections.Count,
            writes,
            expected,
            histogram.Count,
            seconds,
            histogram.Percentile(0.50),
            histogram.Percentile(0.95),
            histogram.Percentile(0.99),
            histogram.Max(),
            path == Direct ? 0 : relayCpu,
            path == Direct ? 0 : peakRss / 1048576.0,
            pocketBaseCpu,
            streams,
            note);
    }
}
