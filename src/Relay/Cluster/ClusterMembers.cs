namespace Relay.Cluster;

/// <summary>The incarnations that follow a session stream, as their topic entries in Redis say (<see cref="InstanceTopics"/>).</summary>
internal static class ClusterMembers
{
    /// <summary>Every incarnation's live topic entry; expired ones, of incarnations that stopped renewing them (a crash), are removed.</summary>
    public static async Task<Dictionary<string, InstanceTopics>> ReadLiveAsync(IClusterStore store, ClusterKeys keys, TimeProvider timeProvider)
    {
        var entries = await store.ReadTopicsAsync(keys);
        var now = timeProvider.GetUtcNow();
        var live = new Dictionary<string, InstanceTopics>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var member = (string)entry.Name!;
            if (InstanceTopics.Parse(entry.Value) is not { } topics || topics.ExpiresAt < now)
            {
                // Only the entry read: its incarnation may have come back and written a fresh one since.
                await store.RemoveTopicsIfUnchangedAsync(keys, member, (string)entry.Value!);
                continue;
            }

            live[member] = topics;
        }

        return live;
    }
}
