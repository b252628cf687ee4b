namespace Relay.IntegrationTests.Infrastructure;

internal static class TestTimeouts
{
    /// <summary>Every await in a test is bounded: a hang is a failure, not a stuck CI job.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    /// <summary>How long to listen before concluding an event did not come. PocketBase delivers within milliseconds here.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(750);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Default);
}
