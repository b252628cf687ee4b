namespace Relay.Testing.PocketBase;

/// <summary>
/// A base collection with its fields and API rules, said once for every PocketBase version
/// (<see cref="PocketBaseAdmin.CreateCollectionAsync(CollectionDefinition, CancellationToken)"/> sends the version's shape).
/// A rule left null is PocketBase's "superusers only"; an empty string is "anyone, guests included".
/// </summary>
public sealed record CollectionDefinition(string Name, params FieldDefinition[] Fields)
{
    public string? ListRule { get; init; }

    public string? ViewRule { get; init; }

    public string? CreateRule { get; init; }

    public string? UpdateRule { get; init; }

    public string? DeleteRule { get; init; }

    /// <summary>The same rule for list and view (who sees a record, on the REST API and on the realtime stream).</summary>
    public CollectionDefinition WithReadRule(string? rule) => this with { ListRule = rule, ViewRule = rule };

    /// <summary>The same rule for create, update and delete.</summary>
    public CollectionDefinition WithWriteRule(string? rule) => this with { CreateRule = rule, UpdateRule = rule, DeleteRule = rule };
}
