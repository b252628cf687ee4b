using System.Globalization;

namespace Relay.Cluster;

/// <summary>A Redis Stream entry id, <c>MS-SEQ</c>, ordered as Redis orders them.</summary>
internal readonly record struct StreamEntryId(long Milliseconds, long Sequence) : IComparable<StreamEntryId>
{
    public static bool TryParse(string? value, out StreamEntryId id)
    {
        id = default;
        var dash = value?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (dash <= 0
            || !long.TryParse(value.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(value.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        id = new StreamEntryId(ms, seq);
        return true;
    }

    public static StreamEntryId Parse(string? value) => TryParse(value, out var id) ? id : default;

    public int CompareTo(StreamEntryId other)
        => Milliseconds != other.Milliseconds ? Milliseconds.CompareTo(other.Milliseconds) : Sequence.CompareTo(other.Sequence);

    public override string ToString()
        => string.Concat(Milliseconds.ToString(CultureInfo.InvariantCulture), "-", Sequence.ToString(CultureInfo.InvariantCulture));
}
