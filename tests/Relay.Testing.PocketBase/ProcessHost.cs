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

    public string DataDirectory => Path.Combine(_root, "pb_data");

    /// <remarks><c>setup</c> are commands run against the fresh data before <c>serve</c> (the superuser is created there,
    /// so 0.23+ never starts without one: it would print an installer link and try to open a browser).</remarks>
    public static async Task<ProcessHost> StartAsync(string binary, int port, IReadOnlyList<IReadOnlyList<string>> setup, CancellationToken cancellationToken)
    {
        var host = new ProcessHost(binary, port);
        foreach (var command in setup)
        {
            var (exitCode, output) = await host.RunCommandAsync(command, cancellationToken);
            if (exitCode != 0)
            {
                await host.DisposeAsync();
                throw new InvalidOperationException($"pocketbase {string.Join(' ', command)} failed ({exitCode}): {output}");
            }
        }

        host.Start();
        return host;
    }

    public async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_binary, [.. arguments, .. DataArguments()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root,
        };
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, output + await errors);
    }

    // --dev=false: PocketBase 0.23+ takes a binary run from under the temp folder for `go run` and would switch dev mode
    // on (SQL logging, migration files written next to the data). 0.22 accepts the flag too.
    private string[] DataArguments() => [$"--dir={DataDirectory}", "--dev=false"];

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
        var start = new ProcessStartInfo(_binary, ["serve", $"--http=127.0.0.1:{_port}", "--automigrate=false", $"--hooksDir={PocketBaseHooks.Directory}", .. DataArguments()])
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
