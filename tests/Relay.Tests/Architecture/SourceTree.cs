namespace Relay.Tests.Architecture;

/// <summary>Where the repository's sources are, found from the test's output directory upwards.</summary>
internal static class SourceTree
{
    public static string RepositoryRoot { get; } = Find();

    /// <summary><c>src/Relay</c>: the server.</summary>
    public static string Server => Path.Combine(RepositoryRoot, "src", "Relay");

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Relay.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Relay.sln above {AppContext.BaseDirectory}: these tests read the sources and run from a checkout.");
    }
}
