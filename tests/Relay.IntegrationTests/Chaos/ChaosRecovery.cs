using System.Globalization;

namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// Per phase: the Resyncs clients got (by reason), and how long until every client was live again, measured as the
/// time from the fault to the first announcement written after it that the client received (announcements go to every
/// client, a few per second, so this is each client's own "events flow again" moment).
/// </summary>
internal static class ChaosRecovery
{
    public static string Summarize(ChaosPhase phase, TimeSpan until, IReadOnlyList<ChaosClient> clients, IReadOnlyDictionary<string, ChaosWrite> written)
    {
        var resyncs = clients.SelectMany(static c => c.Resyncs()).Where(r => r.At >= phase.Fault && r.At < until).ToList();
        var reasons = string.Join(", ", resyncs.GroupBy(static r => r.Reason).OrderBy(static g => g.Key, StringComparer.Ordinal).Select(static g => $"{g.Key} {g.Count()}"));
        var resynced = clients.Count(c => c.Resyncs().Any(r => r.At >= phase.Fault && r.At < until));
        var text = $"{phase.Name}: {resyncs.Count} Resyncs{(reasons.Length > 0 ? $" ({reasons})" : "")} to {resynced} clients";
        var recovery = Times(phase, clients, written, out var never);
        if (recovery.Count > 0)
        {
            text += $", live again after p50 {Seconds(recovery[recovery.Count / 2])} / max {Seconds(recovery[^1])}";
        }

        if (never > 0)
        {
            text += $", {never} clients got no announcement after it";
        }

        return text;
    }

    /// <summary>The clients alive at the fault that never got an announcement written after it.</summary>
    public static int NeverLive(ChaosPhase phase, IReadOnlyList<ChaosClient> clients, IReadOnlyDictionary<string, ChaosWrite> written)
    {
        Times(phase, clients, written, out var never);
        return never;
    }

    /// <summary>Longest time from the fault to a client's first announcement written after it.</summary>
    public static TimeSpan? Max(ChaosPhase phase, IReadOnlyList<ChaosClient> clients, IReadOnlyDictionary<string, ChaosWrite> written)
    {
        var times = Times(phase, clients, written, out _);
        return times.Count > 0 ? times[^1] : null;
    }

    private static List<TimeSpan> Times(ChaosPhase phase, IReadOnlyList<ChaosClient> clients, IReadOnlyDictionary<string, ChaosWrite> written, out int never)
    {
        var times = new List<TimeSpan>();
        never = 0;
        foreach (var client in clients.Where(c => c.AliveAt(phase.Fault) && c.ClosedAt is null))
        {
            var first = client.Deliveries().FirstOrDefault(d => d.Collection == "announcements" && written.TryGetValue(d.Key, out var write) && write.Start >= phase.Fault);
            if (first is null)
            {
                never++;
            }
            else
            {
                times.Add(first.At - phase.Fault);
            }
        }

        times.Sort();
        return times;
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
}
