using System.Diagnostics;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// examples/console-viewer built against the packed Relay.Client: the one scripts/test.sh packed and built (its path in
/// <c>RELAY_CONSOLE_VIEWER</c>), or else packed and built here, the same way.
/// </summary>
internal static class ConsoleViewer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _built;

    public static async Task<string> EnsureBuiltAsync()
    {
        if (Environment.GetEnvironmentVariable("RELAY_CONSOLE_VIEWER") is { Length: > 0 } prebuilt)
        {
            Assert.True(File.Exists(prebuilt), $"RELAY_CONSOLE_VIEWER points at {prebuilt}, which does not exist");
            return prebuilt;
        }

        await Gate.WaitAsync();
        try
        {
            if (_built is not null)
            {
                return _built;
            }

            var root = RepositoryRoot();
            var sample = Path.Combine(root, "examples", "console-viewer");
            // A stale extraction of the same version would hide a broken package.
            var extracted = Path.Combine(sample, ".packages", "relay.client");
            if (Directory.Exists(extracted))
            {
                Directory.Delete(extracted, recursive: true);
            }

            await RunAsync(root, "pack", "src/Relay.Client", "-c", "Release", "-nologo", "-o", Path.Combine(root, "artifacts", "packages"));
            await RunAsync(sample, "build", "-c", "Release", "-nologo", "-clp:ErrorsOnly");
            _built = Path.Combine(sample, "bin", "Release", "net10.0", "ConsoleViewer.dll");
            return _built;
        }
        finally
        {
            Gate.Release();
        }
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

        throw new InvalidOperationException("Relay.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed:\n{await stdout}\n{await stderr}");
    }
}
