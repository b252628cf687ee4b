using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Relay.Bench;

/// <summary>What the clients measured: deliveries and their latency percentiles in milliseconds.</summary>
internal sealed record ClientsResult(long Count, double P50, double P95, double P99, double Max);

/// <summary>
/// The harness's clients in a process of their own (<c>Relay.Bench --clients-only</c>), so the CPU they spend decoding
/// is read from /proc apart from Relay's and PocketBase's. The parent talks to it over stdin/stdout, one line each:
/// it answers <c>ready N</c> once connected, <c>result COUNT P50 P95 P99 MAX</c> to <c>drain EXPECTED</c>, and exits on <c>quit</c>.
/// </summary>
internal sealed class ClientsProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _connectionsFile;
    private bool _disposed;

    private ClientsProcess(Process process, string connectionsFile)
    {
        _process = process;
        _connectionsFile = connectionsFile;
    }

    public int Pid => _process.Id;

    public static async Task<ClientsProcess> StartAsync(string path, Uri url, IReadOnlyList<(string? Token, string Topic)> connections)
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(connections.Select(c => new[] { c.Token, c.Topic })));
        var start = new ProcessStartInfo(Environment.ProcessPath!, [typeof(ClientsProcess).Assembly.Location, "--clients-only", "--path", path, "--url", url.ToString(), "--connections", file, "--clients", BenchClients.Kind])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
        };
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start)!;
        var clients = new ClientsProcess(process, file);
        try
        {
            var ready = await clients.ReadLineAsync(TimeSpan.FromMinutes(5));
            if (!ready.StartsWith("ready ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The clients process said '{ready}' instead of ready.");
            }

            return clients;
        }
        catch
        {
            await clients.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits (in the clients process) until <paramref name="expected"/> deliveries arrived or progress stopped.</summary>
    public async Task<ClientsResult> DrainAsync(long expected)
    {
        await _process.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"drain {expected}"));
        await _process.StandardInput.FlushAsync();
        var line = await ReadLineAsync(TimeSpan.FromSeconds(60));
        var parts = line.Split(' ');
        if (parts.Length != 6 || parts[0] != "result")
        {
            throw new InvalidOperationException($"The clients process said '{line}' instead of a result.");
        }

        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        return new ClientsResult(long.Parse(parts[1], CultureInfo.InvariantCulture), D(parts[2]), D(parts[3]), D(parts[4]), D(parts[5]));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        File.Delete(_connectionsFile);
    }

    private async Task<string> ReadLineAsync(TimeSpan timeout)
        => await _process.StandardOutput.ReadLineAsync().WaitAsync(timeout)
            ?? throw new InvalidOperationException($"The clients process exited (code {(_process.HasExited ? _process.ExitCode : -1)}); see its output above.");

    /// <summary>The <c>--clients-only</c> entry point: connects, then serves <c>drain</c> and <c>quit</c> from stdin.</summary>
    /// <remarks>
    /// Standalone, against a Relay or PocketBase already running on this machine:
    /// <c>Relay.Bench --clients-only --path relay-json --url http://127.0.0.1:8080/ --guests 1000 --topic bench_public/* [--clients signalr]</c>,
    /// then type <c>drain N</c> after N deliveries were sent (records need a numeric <c>sentAt</c> in µs since the epoch).
    /// </remarks>
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        var path = Arg("--path") ?? ScenarioRunner.RelayJson;
        if (!BenchClients.TrySetKind(Arg("--clients")))
        {
            throw new ArgumentException($"--clients must be {BenchClients.Lean} or {BenchClients.SignalR}, not '{Arg("--clients")}'.");
        }

        var url = new Uri(Arg("--url") ?? throw new ArgumentException("--clients-only needs --url"));
        List<(string? Token, string Topic)> connections;
        if (Arg("--connections") is { } file)
        {
            connections = [.. JsonSerializer.Deserialize<string?[][]>(await File.ReadAllTextAsync(file))!.Select(c => (c[0], c[1]!))];
        }
        else
        {
            connections = [.. Enumerable.Repeat(((string?)null, Arg("--topic") ?? "bench_public/*"), int.Parse(Arg("--guests") ?? "100", CultureInfo.InvariantCulture))];
        }

        var histogram = new LatencyHistogram();
        var clients = await BenchClients.ConnectAllAsync(path, url, connections, Clock.Measure(histogram));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {clients.Count}"));
        Console.Out.Flush();
        try
        {
            while (Console.In.ReadLine() is { } command)
            {
                if (command.StartsWith("drain ", StringComparison.Ordinal))
                {
                    await DrainAsync(histogram, long.Parse(command[6..], CultureInfo.InvariantCulture));
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {histogram.Count} {histogram.Percentile(0.50):0.00} {histogram.Percentile(0.95):0.00} {histogram.Percentile(0.99):0.00} {histogram.Max():0.00}"));
                    Console.Out.Flush();
                }
                else if (command == "quit")
                {
                    break;
                }
            }
        }
        finally
        {
            await BenchClients.DisconnectAllAsync(clients);
        }

        return 0;
    }

    private static async Task DrainAsync(LatencyHistogram histogram, long expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var lastCount = -1L;
        var lastProgress = DateTime.UtcNow;
        while (histogram.Count < expected && DateTime.UtcNow < deadline)
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
    }
}
