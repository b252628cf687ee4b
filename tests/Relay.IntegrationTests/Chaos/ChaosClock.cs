using System.Diagnostics;

namespace Relay.IntegrationTests.Chaos;

/// <summary>The test's one clock: writes, deliveries, signals and faults are all placed on it.</summary>
internal static class ChaosClock
{
    private static readonly long Start = Stopwatch.GetTimestamp();

    public static TimeSpan Now => Stopwatch.GetElapsedTime(Start);
}
