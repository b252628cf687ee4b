namespace Relay.Testing.PocketBase;

/// <summary>
/// A collection field, said once for both PocketBase shapes: <see cref="CollectionShape"/> writes it as a 0.23+ field
/// (flat options) or as a 0.22 schema entry (options nested under <c>options</c>).
/// </summary>
public sealed record FieldDefinition(string Name, string Type)
{
    public bool Required { get; init; }

    /// <summary>For a relation: the target collection's name (its id is looked up, as it differs per installation).</summary>
    public string? RelatedCollection { get; init; }

    public int? MaxSelect { get; init; }

    public bool CascadeDelete { get; init; }

    /// <summary>For text: the longest value in characters. Null takes the version's default: none on 0.22, 5,000 on 0.23+.</summary>
    public int? Max { get; init; }

    public static FieldDefinition Text(string name, bool required = false, int? max = null) => new(name, "text") { Required = required, Max = max };

    public static FieldDefinition Number(string name, bool required = false) => new(name, "number") { Required = required };

    public static FieldDefinition Bool(string name) => new(name, "bool");

    /// <summary>A single relation to a record of <paramref name="collection"/>.</summary>
    public static FieldDefinition Relation(string name, string collection, bool required = false, bool cascadeDelete = false)
        => new(name, "relation") { Required = required, RelatedCollection = collection, MaxSelect = 1, CascadeDelete = cascadeDelete };
}
