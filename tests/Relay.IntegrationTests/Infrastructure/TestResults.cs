namespace Relay.IntegrationTests.Infrastructure;

/// <summary>Figures a test measured, collected in <c>$RELAY_RESULTS_DIR/figures.txt</c>; scripts/test.sh prints them.</summary>
internal static class TestResults
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task AppendAsync(string line)
    {
        var directory = Environment.GetEnvironmentVariable("RELAY_RESULTS_DIR");
        if (string.IsNullOrEmpty(directory))
        {
            return;
        }

        await Gate.WaitAsync();
        try
        {
            Directory.CreateDirectory(directory);
            await File.AppendAllTextAsync(Path.Combine(directory, "figures.txt"), line + Environment.NewLine);
        }
        finally
        {
            Gate.Release();
        }
    }
}
