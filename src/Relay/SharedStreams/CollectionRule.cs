namespace Relay.SharedStreams;

/// <summary>
/// One collection's read rules as PocketBase holds them (<c>null</c>: superusers only; <c>""</c>: everyone), classified
/// once when read. <see cref="IsAuth"/>: an auth collection, whose records never share.
/// </summary>
internal sealed class CollectionRule(string id, string name, bool isAuth, string? listRule, string? viewRule)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public bool IsAuth { get; } = isAuth;

    public string? ListRule { get; } = listRule;

    public string? ViewRule { get; } = viewRule;

    /// <summary>The list rule's class: PocketBase checks it for <c>COLLECTION/*</c> subscriptions.</summary>
    public RuleClass ListClass { get; } = RuleClassifier.Classify(listRule);

    /// <summary>The view rule's class: PocketBase checks it for <c>COLLECTION/RECORD_ID</c> subscriptions.</summary>
    public RuleClass ViewClass { get; } = RuleClassifier.Classify(viewRule);

    /// <summary>Same collection, same rules: a refresh that finds only these changes nothing.</summary>
    public bool SameAs(CollectionRule other)
        => Id == other.Id && Name == other.Name && IsAuth == other.IsAuth && ListRule == other.ListRule && ViewRule == other.ViewRule;
}
