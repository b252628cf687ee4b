using System.Collections;

namespace Relay.Client.Caching;

/// <summary>
/// A query key in the PocketBase + TanStack Query convention: <c>[collection, "list", ...]</c> or
/// <c>[collection, "detail", id]</c>. Keys compare by their parts; <see cref="StartsWith"/> is the prefix match that
/// invalidation uses.
/// </summary>
public sealed class QueryKey : IEquatable<QueryKey>, IReadOnlyList<string>
{
    private readonly string[] _parts;

    /// <summary>Creates a key from its parts.</summary>
    /// <param name="parts">The parts, at least one; none may be null.</param>
    /// <exception cref="ArgumentException">No parts, or a null part.</exception>
    public QueryKey(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0 || Array.Exists(parts, static p => p is null))
        {
            throw new ArgumentException("A query key has at least one part and no null parts.", nameof(parts));
        }

        _parts = [.. parts];
    }

    /// <summary>Every list query of <paramref name="collection"/>: <c>[collection, "list"]</c> (a prefix).</summary>
    /// <param name="collection">The collection name.</param>
    public static QueryKey Lists(string collection) => new(collection, "list");

    /// <summary>One list query: <c>[collection, "list", variant]</c>, e.g. a filter or page.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="variant">What distinguishes this list from the collection's other lists.</param>
    public static QueryKey List(string collection, string variant) => new(collection, "list", variant);

    /// <summary>One record: <c>[collection, "detail", id]</c>.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="id">The record id.</param>
    public static QueryKey Detail(string collection, string id) => new(collection, "detail", id);

    /// <summary>Everything of <paramref name="collection"/>: <c>[collection]</c> (a prefix).</summary>
    /// <param name="collection">The collection name.</param>
    public static QueryKey Collection(string collection) => new(collection);

    /// <inheritdoc />
    public int Count => _parts.Length;

    /// <inheritdoc />
    public string this[int index] => _parts[index];

    /// <summary>True when this key's first parts are <paramref name="prefix"/>'s parts.</summary>
    /// <param name="prefix">The prefix.</param>
    public bool StartsWith(QueryKey prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return prefix._parts.Length <= _parts.Length && prefix._parts.AsSpan().SequenceEqual(_parts.AsSpan(0, prefix._parts.Length));
    }

    /// <inheritdoc />
    public bool Equals(QueryKey? other) => other is not null && _parts.AsSpan().SequenceEqual(other._parts);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as QueryKey);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var part in _parts)
        {
            hash.Add(part, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_parts).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _parts.GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", _parts) + "]";
}
