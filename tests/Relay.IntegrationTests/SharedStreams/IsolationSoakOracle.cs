namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// The soak's judge. A <b>leak</b> is a delivery the viewer's own PocketBase stream did not carry (or on a topic the tab
/// did not ask for); once a user's token is dead (deleted, revoked) it counts as no token, so what a guest's stream
/// carried is allowed too, as PocketBase's SDK would get it reconnecting with that token. A <b>miss</b> is an event the viewer's
/// own stream carried, on a topic the tab held since before the write started, that the tab did not get — unless a
/// Resync for that topic came after the write, the tab was being closed, or the user's token was dead.
/// </summary>
internal static class IsolationSoakOracle
{
    /// <summary>Events PocketBase sends may still be on their way this long after a tab starts closing or subscribes.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    public static IsolationSoakVerdict Judge(IsolationSoakWorld world)
    {
        long deliveries = 0, owed = 0, directEvents = 0, duplicates = 0, resyncs = 0, excused = 0, asGuest = 0;
        List<string> leaks = [], misses = [], duplicateExamples = [];
        foreach (var viewer in world.Viewers)
        {
            directEvents += viewer.Direct.Count;
            foreach (var tab in viewer.Tabs)
            {
                resyncs += tab.Resyncs.Count;
                var seen = new Dictionary<(string Topic, string Key), int>();
                foreach (var (topic, key, at) in tab.Received)
                {
                    deliveries++;
                    var copies = seen[(topic, key)] = seen.GetValueOrDefault((topic, key)) + 1;
                    if (copies > 1)
                    {
                        // More copies than PocketBase sent this viewer (a replay after a reconnect, a fault) are counted, not leaks.
                        if (copies > (viewer.Direct.TryGetValue((topic, key), out var sent) ? sent.Count : 1))
                        {
                            duplicates++;
                            duplicateExamples.Add($"{viewer.Name}: {topic} {key} x{copies}");
                        }

                        continue;
                    }

                    if (!tab.Topics.Contains(topic))
                    {
                        leaks.Add($"{viewer.Name}: {topic} {key} on a topic the tab did not subscribe to");
                    }
                    else if (viewer.Direct.ContainsKey((topic, key)))
                    {
                    }
                    else if (viewer.TokenDead is { } dead && at >= dead.At && world.Reference.Direct.ContainsKey((topic, key)))
                    {
                        asGuest++;
                    }
                    else
                    {
                        leaks.Add($"{viewer.Name} (role {viewer.Role}, token dead: {(viewer.TokenDead is { } since ? $"{since.How} at op {since.Index}" : "no")}): {topic} {key} at {at:HH:mm:ss.fff}, not on its own PocketBase stream (written at {Written(world, key)})");
                    }
                }

                foreach (var ((topic, key), (directAt, _)) in viewer.Direct)
                {
                    if (!tab.Held.TryGetValue(topic, out var held))
                    {
                        continue;
                    }

                    var known = world.Written.TryGetValue(key, out var write);
                    var owedToTab = known ? write.Index > held.Index : directAt > held.At + Grace;
                    owedToTab &= tab.ClosingAt is not { } closing || (known ? write.At : directAt) < closing - Grace;
                    owedToTab &= viewer.TokenDead is not { } gone || (known ? write.Index < gone.Index : directAt < gone.At - Grace);
                    if (!owedToTab)
                    {
                        continue;
                    }

                    owed++;
                    if (seen.ContainsKey((topic, key)))
                    {
                        continue;
                    }

                    var writtenAt = known ? write.At : directAt - Grace;
                    if (tab.Resyncs.Any(resync => resync.At >= writtenAt && resync.Topics.Contains(topic)))
                    {
                        excused++;
                        continue;
                    }

                    misses.Add($"{viewer.Name} (role {viewer.Role}): {topic} {key} (written at {Written(world, key)}, on its own stream at {directAt:HH:mm:ss.fff}), held since op {held.Index}");
                }
            }
        }

        return new IsolationSoakVerdict(deliveries, owed, directEvents, duplicates, resyncs, excused, asGuest, leaks, misses, duplicateExamples);
    }

    private static string Written(IsolationSoakWorld world, string key)
        => world.Written.TryGetValue(key, out var write) ? $"op {write.Index} {write.At:HH:mm:ss.fff}" : "by PocketBase itself";
}
