using System.Diagnostics.CodeAnalysis;

namespace Relay.SharedStreams;

/// <summary>
/// Every collection's rules as read at <see cref="ReadAt"/>, found by name or by id (PocketBase accepts both in a topic).
/// Immutable: a refresh replaces the whole set. <see cref="Empty"/> knows no collection, so nothing is shared.
/// </summary>
internal sealed class CollectionRuleSet
{
    private readonly Dictionary<string, CollectionRule> _byNameOrId;

    public CollectionRuleSet(IEnumerable<CollectionRule> collections, DateTimeOffset readAt)
    {
        Collections = collections.ToArray();
        ReadAt = readAt;
        _byNameOrId = new Dictionary<string, CollectionRule>(StringComparer.Ordinal);
        foreach (var collection in Collections)
        {
            _byNameOrId[collection.Id] = collection;
            _byNameOrId[collection.Name] = collection;
        }
    }

    public static CollectionRuleSet Empty { get; } = new([], DateTimeOffset.MinValue);

    public IReadOnlyList<CollectionRule> Collections { get; }

    public DateTimeOffset ReadAt { get; }

    public bool TryGet(string nameOrId, [NotNullWhen(true)] out CollectionRule? collection) => _byNameOrId.TryGetValue(nameOrId, out collection);

    /// <summary>Whether <paramref name="other"/> holds exactly the same collections and rules (read times aside).</summary>
    public bool SameRulesAs(CollectionRuleSet other)
        => Collections.Count == other.Collections.Count
            && Collections.All(collection => other.TryGet(collection.Id, out var theirs) && collection.SameAs(theirs));
}
