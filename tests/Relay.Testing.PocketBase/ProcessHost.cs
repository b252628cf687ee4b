using System.Collections.Concurrent;
using System.Diagnostics;

namespace Relay.Testing.PocketBase;

/// <summary>PocketBase as a child process, its data in a folder of its own (so API-made migrations touch no other instance).</summary>
internal sealed class ProcessHost : IPocketBaseHost
{
    private readonly string _binary;
    private readonly int _port;
    private readonly string _root;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private ProcessHost(string binary, int port)
    {
        _binary = binary;
        _port = port;
        _root = Path.Combine(Path.GetTempPath(), $"relay-pb-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    public string Mode => "process";

    public int? ProcessId => _process?.Id;

    public static Task<ProcessHost> StartAsync(string binary, int port, CancellationToken cancellationToken)
    {
        var host = new ProcessHost(binary, port);
        host.Start();
        return Task.FromResult(host);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } process)
        {
            // Process.Kill is SIGKILL: PocketBase gets no chance to close its streams.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(cancellationToken);
        }
    }

    public Task KillAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public Task StartAgainAsync(CancellationToken cancellationToken)
    {
        Start();
        return Task.CompletedTask;
    }

    public string RecentOutput() => string.Join('\n', _output);

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _process?.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }

    private void Start()
    {
        _process?.Dispose();
        var start = new ProcessStartInfo(_binary, ["serve", $"--http=127.0.0.1:{_port}", $"--dir={Path.Combine(_root, "pb_data")}", "--automigrate=false"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root,
        };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 50 && _output.TryDequeue(out _))
        {
        }
    }
}
