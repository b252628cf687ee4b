namespace Relay.Tests;

/// <summary>Polls for a condition another thread makes true; a condition not met within the timeout fails the test.</summary>
internal static class TestWait
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
