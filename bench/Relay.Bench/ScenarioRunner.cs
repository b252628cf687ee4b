using System.Diagnostics;
using System.Globalization;

namespace Relay.Bench;

/// <summary>Starts the clients (in their own process), writes at a rate, waits for the deliveries and measures every process meanwhile.</summary>
internal sealed class ScenarioRunner(BenchEnvironment environment)
{
    public const string RelayJson = "relay-json";
    public const string RelayMessagePack = "relay-msgpack";
    public const string Direct = "direct-sse";

    /// <summary>The limit reference (<see cref="BareBroadcaster"/>): its CPU fills the Relay CPU columns of its rows.</summary>
    public const string Bare = "bare-ws";

    public Uri UrlFor(string path) => path switch
    {
        Direct => environment.PocketBase.Url,
        Bare => environment.Bare?.Url ?? throw new InvalidOperationException("Start the bare broadcaster first."),
        _ => environment.RelayUrl,
    };

    private int ServerPid(string path) => path == Bare ? environment.Bare!.Pid : environment.RelayPid;

    private static bool IsRelay(string path) => path is RelayJson or RelayMessagePack;

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
        var streams = path switch
        {
            Direct => connections.Count,
            Bare => 1,
            _ => environment.UpstreamStreams(),
        };

        var outboundBefore = IsRelay(path) ? environment.Relay.OutboundWrites() : null;
        var serverPid = ServerPid(path);
        var relayCpu = ProcessStats.CpuSeconds(serverPid);
        var pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid);
        var clientsCpu = ProcessStats.CpuSeconds(clients.Pid);
        long peakRss = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, ProcessStats.RssBytes(serverPid));
                await Task.Delay(100);
            }
        });

        Console.Error.WriteLine($"  {scenario}/{path}: writing {rate}/s for {duration.TotalSeconds} s...");
        var clock = Stopwatch.StartNew();
        var (writes, failedWrites) = await Writer.WriteAsync(environment.PocketBase.Admin, rate, duration, next);
        long expected = (long)writes * recipientsPerWrite;
        var delivered = await clients.DrainAsync(expected);

        var seconds = clock.Elapsed.TotalSeconds;
        relayCpu = ProcessStats.CpuSeconds(serverPid) - relayCpu;
        pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid) - pocketBaseCpu;
        clientsCpu = ProcessStats.CpuSeconds(clients.Pid) - clientsCpu;
        await sampling.CancelAsync();
        await sampler;

        // How much the connections' writers batched: messages ÷ writes (each write one flush).
        // (A fresh Relay exports the counters from its first write on: none before means zero.)
        if (IsRelay(path) && environment.Relay.OutboundWrites() is { } after)
        {
            var before = outboundBefore ?? (0, 0, 0);
            var writeCount = after.Single + after.Batch - before.Single - before.Batch;
            var messages = after.Single - before.Single + after.Batched - before.Batched;
            note += string.Create(CultureInfo.InvariantCulture, $"; {messages / Math.Max(writeCount, 1):0.00} messages per write");
        }

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

    /// <summary>
    /// One measured run with clients spread over several Relay instances (one clients process per group): streams and
    /// Relay CPU are summed over <paramref name="instances"/>; latency percentiles are the worst of the groups marked
    /// <c>Measured</c> (e.g. only the clients on a non-owner instance).
    /// </summary>
    public async Task<ScenarioResult> RunOnAsync(
        string scenario,
        string path,
        IReadOnlyList<RelayInstance> instances,
        IReadOnlyList<(RelayInstance Instance, IReadOnlyList<(string? Token, string Topic)> Connections, bool Measured)> groups,
        double rate,
        TimeSpan duration,
        Func<int, (string Collection, object Extra, string? Token)> next,
        int recipientsPerWrite,
        string note = "")
    {
        var total = groups.Sum(g => g.Connections.Count);
        var clients = new List<ClientsProcess>();
        try
        {
            foreach (var group in groups)
            {
                Console.Error.WriteLine($"  {scenario}/{path}: connecting {group.Connections.Count} to {group.Instance.Url}...");
                clients.Add(await ClientsProcess.StartAsync(RelayJson, group.Instance.Url, group.Connections));
            }

            await Task.Delay(1500);
            var streams = instances.Sum(i => i.UpstreamStreams());
            var relayCpu = instances.Sum(i => ProcessStats.CpuSeconds(i.Pid));
            var pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid);
            var clientsCpu = clients.Sum(c => ProcessStats.CpuSeconds(c.Pid));

            Console.Error.WriteLine($"  {scenario}/{path}: {streams} PocketBase streams; writing {rate}/s for {duration.TotalSeconds} s...");
            var clock = Stopwatch.StartNew();
            var (writes, failedWrites) = await Writer.WriteAsync(environment.PocketBase.Admin, rate, duration, next);
            var results = new List<(ClientsResult Result, bool Measured, long Expected)>();
            for (var g = 0; g < groups.Count; g++)
            {
                var expectedHere = (long)writes * recipientsPerWrite * groups[g].Connections.Count / total;
                results.Add((await clients[g].DrainAsync(expectedHere), groups[g].Measured, expectedHere));
            }

            var seconds = clock.Elapsed.TotalSeconds;
            relayCpu = instances.Sum(i => ProcessStats.CpuSeconds(i.Pid)) - relayCpu;
            pocketBaseCpu = ProcessStats.CpuSeconds(environment.PocketBasePid) - pocketBaseCpu;
            clientsCpu = clients.Sum(c => ProcessStats.CpuSeconds(c.Pid)) - clientsCpu;
            var measured = results.Where(r => r.Measured).Select(r => r.Result).ToList();
            if (failedWrites > 0)
            {
                note += $"; {failedWrites} writes failed";
            }

            return new ScenarioResult(
                scenario,
                path,
                total,
                writes,
                results.Sum(r => r.Expected),
                results.Sum(r => r.Result.Count),
                seconds,
                measured.Max(r => r.P50),
                measured.Max(r => r.P95),
                measured.Max(r => r.P99),
                measured.Max(r => r.Max),
                relayCpu,
                instances.Sum(i => ProcessStats.RssBytes(i.Pid)) / 1048576.0,
                pocketBaseCpu,
                clientsCpu,
                streams,
                note);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            // Let the sessions pass their linger and close their PocketBase streams before the next run.
            await Task.Delay(2500);
        }
    }
}
