using System.Diagnostics;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>A real PocketBase (process mode, so its CPU can be read) with the bench schema, and Relay's Release build as a separate process.</summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    private readonly Process _relay;

    private BenchEnvironment(PocketBaseServer pocketBase, Process relay, Uri relayUrl)
    {
        PocketBase = pocketBase;
        _relay = relay;
        RelayUrl = relayUrl;
    }

    public PocketBaseServer PocketBase { get; }

    public Uri RelayUrl { get; }

    public int RelayPid => _relay.Id;

    public int PocketBasePid => PocketBase.ProcessId ?? throw new InvalidOperationException("PocketBase must run as a process.");

    /// <param name="relayDll">Relay.dll to run (another build, e.g. an older commit's, for before/after); default: this checkout's Release build.</param>
    public static async Task<BenchEnvironment> StartAsync(string? relayDll = null)
    {
        var pocketBase = await PocketBaseServer.StartAsync("process");
        var usersId = (await pocketBase.Admin.SendAsync(HttpMethod.Get, "api/collections/users", null, null)).GetProperty("id").GetString();
        await pocketBase.Admin.CreateCollectionAsync(new
        {
            name = "bench_notes",
            type = "base",
            schema = new object[]
            {
                new { name = "title", type = "text", options = new { } },
                new { name = "sentAt", type = "number", options = new { } },
                new { name = "owner", type = "relation", required = true, options = new { collectionId = usersId, maxSelect = 1 } },
            },
            listRule = "owner = @request.auth.id",
            viewRule = "owner = @request.auth.id",
            createRule = "owner = @request.auth.id",
        });
        await pocketBase.Admin.CreateCollectionAsync(new
        {
            name = "bench_public",
            type = "base",
            schema = new object[]
            {
                new { name = "title", type = "text", options = new { } },
                new { name = "sentAt", type = "number", options = new { } },
            },
            listRule = "",
            viewRule = "",
        });

        var port = PocketBaseServer.FreePort();
        var relayUrl = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet", [relayDll ?? Path.Combine(RepositoryRoot(), "src", "Relay", "bin", "Release", "net10.0", "Relay.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = relayUrl.ToString().TrimEnd('/');
        start.Environment["Relay__PocketBase__Url"] = pocketBase.Url.ToString();
        start.Environment["Relay__MaxConnectionsPerUser"] = "100000";
        // Every simulated guest comes from this one loopback address.
        start.Environment["Relay__GuestLimits__MaxConnectionsPerIp"] = "1000000";
        start.Environment["Relay__Sessions__Linger"] = "00:00:01";
        start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        start.Environment["DOTNET_gcServer"] = "0";
        var relay = Process.Start(start)!;
        relay.OutputDataReceived += (_, e) => { };
        relay.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("relay: " + e.Data);
            }
        };
        relay.BeginOutputReadLine();
        relay.BeginErrorReadLine();

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(relayUrl, "health/ready"))).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline || relay.HasExited)
            {
                throw new InvalidOperationException("Relay did not become ready; is the Release build there (scripts/bench.sh builds it)?");
            }

            await Task.Delay(200);
        }

        return new BenchEnvironment(pocketBase, relay, relayUrl);
    }

    /// <summary>Relay's own count of open PocketBase streams, scraped from its Prometheus endpoint.</summary>
    public int UpstreamStreams()
    {
        using var http = new HttpClient();
        var text = http.GetStringAsync(new Uri(RelayUrl, "metrics")).GetAwaiter().GetResult();
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^relay_upstream_streams\{[^}]*\} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_relay.HasExited)
        {
            _relay.Kill(entireProcessTree: true);
            await _relay.WaitForExitAsync();
        }

        _relay.Dispose();
        await PocketBase.DisposeAsync();
    }

    private static string RepositoryRoot()
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
}
