using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// One entry of a session's Redis Stream, decoded: the one codec for every kind (<see cref="EntryKinds"/>), both ways.
/// <see cref="Member"/> is the stream incarnation that wrote it (<see cref="ClusterUpstream.MemberId"/>).
/// </summary>
internal sealed record ClusterEntry(string? Kind, string? Member)
{
    /// <summary>Event: the upstream topic it was read for.</summary>
    public string? Topic { get; init; }

    /// <summary>Event: create, update or delete.</summary>
    public string? Action { get; init; }

    /// <summary>Event: the record JSON as PocketBase sent it.</summary>
    public string? Record { get; init; }

    /// <summary>
    /// Applied: <c>member=version</c> pairs separated by commas. Refused: the pairs of the topic set the refusal was found
    /// in (null in an entry written before refusals carried them).
    /// </summary>
    public string? Versions { get; init; }

    /// <summary>Refused: the topics PocketBase refused.</summary>
    public IReadOnlyList<string> Topics { get; init; } = [];

    /// <summary>HandoverDone: the incarnation the lease was passed to.</summary>
    public string? Successor { get; init; }

    /// <summary>The record of an event entry.</summary>
    public JsonElement RecordElement() => JsonSerializer.Deserialize(Record!, ClusterJsonContext.Default.JsonElement);

    public static ClusterEntry Decode(StreamEntry entry)
    {
        var kind = (string?)entry[EntryFields.Kind];
        var member = (string?)entry[EntryFields.Instance];
        return kind switch
        {
            EntryKinds.Event => new ClusterEntry(kind, member)
            {
                Topic = (string?)entry[EntryFields.Topic],
                Action = (string?)entry[EntryFields.Action],
                Record = (string?)entry[EntryFields.Record],
            },
            EntryKinds.Applied => new ClusterEntry(kind, member) { Versions = (string?)entry[EntryFields.Versions] },
            EntryKinds.Refused => new ClusterEntry(kind, member)
            {
                Versions = (string?)entry[EntryFields.Versions],
                Topics = ((string?)entry[EntryFields.Topics] ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries),
            },
            EntryKinds.HandoverDone => new ClusterEntry(kind, member) { Successor = (string?)entry[EntryFields.Successor] },
            _ => new ClusterEntry(kind, member),
        };
    }

    public static NameValueEntry[] Event(string member, string topic, string action, string record) =>
    [
        new(EntryFields.Kind, EntryKinds.Event),
        new(EntryFields.Instance, member),
        new(EntryFields.Topic, topic),
        new(EntryFields.Action, action),
        new(EntryFields.Record, record),
    ];

    /// <summary>
    /// The <see cref="Versions"/> of an applied entry: <c>member=version</c> for each incarnation, ordered by member (equal
    /// sets format equal, so the owner sees whether it confirmed these already).
    /// </summary>
    public static string FormatVersions(IEnumerable<KeyValuePair<string, long>> versions)
        => string.Join(',', versions.OrderBy(static pair => pair.Key, StringComparer.Ordinal)
            .Select(static pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Key}={pair.Value}")));

    /// <summary>The version <paramref name="versions"/> (an applied entry's) confirms for <paramref name="member"/>, if any.</summary>
    public static long? VersionOf(string? versions, string member)
    {
        foreach (var pair in (versions ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = pair.IndexOf('=', StringComparison.Ordinal);
            if (separator > 0 && pair.AsSpan(0, separator).SequenceEqual(member)
                && long.TryParse(pair.AsSpan(separator + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var version))
            {
                return version;
            }
        }

        return null;
    }

    public static NameValueEntry[] Applied(string member, string versions)
        => [new(EntryFields.Kind, EntryKinds.Applied), new(EntryFields.Instance, member), new(EntryFields.Versions, versions)];

    /// <summary>
    /// A refusal of <paramref name="topics"/>, found in the owner's topic set that carried <paramref name="versions"/>
    /// (<see cref="FormatVersions"/>): a follower also fails a subscription of one of them for such a version that starts
    /// waiting after it read the entry.
    /// </summary>
    public static NameValueEntry[] Refused(string member, IEnumerable<string> topics, string? versions = null)
        => versions is null
            ? [new(EntryFields.Kind, EntryKinds.Refused), new(EntryFields.Instance, member), new(EntryFields.Topics, string.Join('\n', topics))]
            : [new(EntryFields.Kind, EntryKinds.Refused), new(EntryFields.Instance, member), new(EntryFields.Topics, string.Join('\n', topics)), new(EntryFields.Versions, versions)];

    public static NameValueEntry[] Resync(string member) => Marker(EntryKinds.Resync, member);

    public static NameValueEntry[] HandoverBegin(string member) => Marker(EntryKinds.HandoverBegin, member);

    public static NameValueEntry[] HandoverReady(string member) => Marker(EntryKinds.HandoverReady, member);

    public static NameValueEntry[] HandoverDone(string member, string successor)
        => [new(EntryFields.Kind, EntryKinds.HandoverDone), new(EntryFields.Instance, member), new(EntryFields.Successor, successor)];

    private static NameValueEntry[] Marker(string kind, string member) => [new(EntryFields.Kind, kind), new(EntryFields.Instance, member)];
}
