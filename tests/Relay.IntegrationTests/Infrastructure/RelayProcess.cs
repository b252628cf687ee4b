using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// Relay as an OS process of its own (<c>dotnet Relay.dll</c> from this test's output folder, on a free loopback port),
/// so it can be killed (<c>SIGKILL</c>) or stopped (<c>SIGTERM</c>) as in production, which an in-process
/// <see cref="RelayServer"/> cannot be. Its log (Serilog's JSON on stdout) is kept in <see cref="Logs"/>.
/// </summary>
public sealed class RelayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<RelayLogLine> _logs = new();
    private readonly List<(Func<RelayLogLine, bool> Match, TaskCompletionSource<RelayLogLine> Found)> _watchers = [];

    private RelayProcess(string name, Process process, Uri url)
    {
        Name = name;
        _process = process;
        Url = url;
    }

    public string Name { get; }

    public Uri Url { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyCollection<RelayLogLine> Logs => _logs;

    /// <summary>Starts one instance and waits until <c>/health/ready</c> answers 200.</summary>
    /// <param name="name">How the test names it (in logs).</param>
    /// <param name="pocketBase">PocketBase's base URL.</param>
    /// <param name="settings">Configuration keys (<c>Relay:Cluster:LeaseTime</c>), passed as environment variables.</param>
    public static async Task<RelayProcess> StartAsync(string name, Uri pocketBase, IReadOnlyDictionary<string, string> settings)
    {
        var folder = AppContext.BaseDirectory;
        var port = Relay.Testing.PocketBase.PocketBaseServer.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(folder, "Relay.dll")])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = url.ToString().TrimEnd('/');
        start.Environment["Relay__PocketBase__Url"] = pocketBase.ToString();
        start.Environment["Serilog__ConsoleFormat"] = "json";
        // Workstation GC: several instances share the machine with the test and PocketBase.
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start)!;
        var instance = new RelayProcess(name, process, url);
        process.OutputDataReceived += (_, e) => instance.Record(e.Data);
        process.ErrorDataReceived += (_, e) => instance.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(url, "health/ready"))).IsSuccessStatusCode)
                {
                    return instance;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                var log = string.Join('\n', instance._logs.TakeLast(30).Select(static line => line.Message));
                await instance.DisposeAsync();
                throw new InvalidOperationException($"Relay process {name} did not become ready:\n{log}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown at all, as a crash or the OOM killer.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: Relay's graceful shutdown (drain, hand its streams over).</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit(5_000);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The first line logged from now on (or already logged) that matches <paramref name="match"/>.</summary>
    public Task<RelayLogLine> WhenLogged(Func<RelayLogLine, bool> match)
    {
        var found = new TaskCompletionSource<RelayLogLine>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_watchers)
        {
            if (_logs.FirstOrDefault(match) is { } line)
            {
                found.SetResult(line);
            }
            else
            {
                _watchers.Add((match, found));
            }
        }

        return found.Task;
    }

    /// <summary>One of Relay's gauges, read from its Prometheus endpoint (summed over labels); -1 when absent or unreachable.</summary>
    public async Task<long> GaugeAsync(string prometheusName)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var text = await http.GetStringAsync(new Uri(Url, "metrics"));
            var matches = Regex.Matches(text, $@"^{Regex.Escape(prometheusName)}(?:\{{[^}}]*\}})? ([0-9.eE+-]+)", RegexOptions.Multiline);
            return matches.Count == 0 ? -1 : (long)matches.Sum(static m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (string.IsNullOrEmpty(line))
        {
            return;
        }

        if (!line.StartsWith('{'))
        {
            Add(new RelayLogLine(DateTime.UtcNow, "Raw", 0, "", line, null));
            return;
        }

        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var eventId = root.TryGetProperty("EventId", out var id) && id.ValueKind == JsonValueKind.Object && id.TryGetProperty("Id", out var number) ? number.GetInt32() : 0;
            var time = Text("@t") is { } t ? DateTime.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal) : DateTime.UtcNow;
            var message = Text("@m") ?? "";
            if (Text("@x") is { } exception)
            {
                message += " " + exception;
            }

            Add(new RelayLogLine(time, Text("@l") ?? "Information", eventId, Text("SourceContext") ?? "", message, Text("Stream")));
        }
        catch (JsonException)
        {
            Add(new RelayLogLine(DateTime.UtcNow, "Raw", 0, "", line, null));
        }
    }

    private void Add(RelayLogLine line)
    {
        lock (_watchers)
        {
            _logs.Enqueue(line);
            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                if (_watchers[i].Match(line))
                {
                    _watchers[i].Found.TrySetResult(line);
                    _watchers.RemoveAt(i);
                }
            }
        }
    }
}

/// <summary>One line of a <see cref="RelayProcess"/>'s log.</summary>
public sealed record RelayLogLine(DateTime Time, string Level, int EventId, string Category, string Message, string? Stream);
