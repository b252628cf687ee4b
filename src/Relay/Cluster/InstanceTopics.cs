using System.Globalization;
using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// One instance's entry in a session's topic hash: <c>version|expiry-ms</c>, then one upstream topic per line. The
/// owner subscribes PocketBase to the union of the live entries and confirms each entry's version once it holds it;
/// an entry whose instance stopped renewing it (a crash) expires and its topics are dropped.
/// </summary>
internal readonly record struct InstanceTopics(long Version, DateTimeOffset ExpiresAt, string[] Topics)
{
    public static string Format(TopicSnapshot snapshot, DateTimeOffset expiresAt)
        => string.Create(CultureInfo.InvariantCulture, $"{snapshot.Version}|{expiresAt.ToUnixTimeMilliseconds()}\n{string.Join('\n', snapshot.Topics)}");

    public static InstanceTopics? Parse(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var lines = value.Split('\n');
        var header = lines[0].Split('|');
        if (header.Length != 2
            || !long.TryParse(header[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var version)
            || !long.TryParse(header[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var expiresAt))
        {
            return null;
        }

        return new InstanceTopics(version, DateTimeOffset.FromUnixTimeMilliseconds(expiresAt), [.. lines.Skip(1).Where(static line => line.Length > 0)]);
    }
}
