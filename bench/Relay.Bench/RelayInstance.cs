using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Relay.Bench;

/// <summary>One Relay process (Release build) against a PocketBase: the bench's own, or an extra instance of a cluster.</summary>
internal sealed partial class RelayInstance : IAsyncDisposable
{
    private readonly Process _process;

    private RelayInstance(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public int Pid => _process.Id;

    /// <param name="pocketBase">PocketBase's base URL.</param>
    /// <param name="relayDll">Relay.dll to run; default: this checkout's Release build.</param>
    /// <param name="environment">Extra settings (e.g. <c>Relay__Redis__Configuration</c> for cluster mode).</param>
    /// <param name="name">Prefix of its stderr lines.</param>
    public static async Task<RelayInstance> StartAsync(Uri pocketBase, string? relayDll, IReadOnlyDictionary<string, string>? environment = null, string name = "relay")
    {
        var port = Relay.Testing.PocketBase.PocketBaseServer.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet", [relayDll ?? Path.Combine(RepositoryRoot(), "src", "Relay", "bin", "Release", "net10.0", "Relay.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = url.ToString().TrimEnd('/');
        start.Environment["Relay__PocketBase__Url"] = pocketBase.ToString();
        start.Environment["Relay__MaxConnectionsPerUser"] = "100000";
        // Every simulated guest comes from this one loopback address.
        start.Environment["Relay__GuestLimits__MaxConnectionsPerIp"] = "1000000";
        start.Environment["Relay__Sessions__Linger"] = "00:00:01";
        start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        // Relay logs (Warning and above here) go to stdout: shown, so a failed row can be explained.
        DataReceivedEventHandler forward = (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"{name}: {e.Data}");
            }
        };
        process.OutputDataReceived += forward;
        process.ErrorDataReceived += forward;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var instance = new RelayInstance(process, url);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(url, "health/ready"))).IsSuccessStatusCode)
                {
                    return instance;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                await instance.DisposeAsync();
                throw new InvalidOperationException("Relay did not become ready; is the Release build there (scripts/bench.sh builds it)?");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Relay's own count of open PocketBase streams (<c>relay_upstream_streams</c>), scraped from its Prometheus endpoint.</summary>
    public int UpstreamStreams()
    {
        var match = StreamsGauge().Match(MetricsText());
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>
    /// Relay's writes to connections so far (<c>relay_outbound_writes</c> by kind, <c>relay_outbound_batched</c>): the
    /// difference of two readings gives the messages per write of a run. Null from a build without these counters, or
    /// from a Relay that has not written yet.
    /// </summary>
    public (double Single, double Batch, double Batched)? OutboundWrites()
    {
        var text = MetricsText();
        double Sum(Regex pattern) => pattern.Matches(text).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return text.Contains("relay_outbound_writes", StringComparison.Ordinal)
            ? (Sum(SingleWrites()), Sum(BatchWrites()), Sum(BatchedMessages()))
            : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>Relay's Prometheus endpoint, scraped once.</summary>
    private string MetricsText()
    {
        using var http = new HttpClient();
        return http.GetStringAsync(new Uri(Url, "metrics")).GetAwaiter().GetResult();
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Relay.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run the bench from within the repository.");
    }

    [GeneratedRegex(@"^relay_upstream_streams(?:\{[^}]*\})? (\d+)", RegexOptions.Multiline)]
    private static partial Regex StreamsGauge();

    [GeneratedRegex(@"^relay_outbound_writes(?:_total)?\{[^}]*kind=""single""[^}]*\} ([0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex SingleWrites();

    [GeneratedRegex(@"^relay_outbound_writes(?:_total)?\{[^}]*kind=""batch""[^}]*\} ([0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex BatchWrites();

    [GeneratedRegex(@"^relay_outbound_batched(?:_total)?(?:\{[^}]*\})? ([0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex BatchedMessages();
}
