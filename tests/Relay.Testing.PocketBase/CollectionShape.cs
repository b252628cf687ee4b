namespace Relay.Testing.PocketBase;

/// <summary>The one place that knows how each PocketBase version spells a collection in <c>POST /api/collections</c>.</summary>
internal static class CollectionShape
{
    /// <remarks><c>collectionId</c> looks up a collection's id by name: relations point at ids, generated per installation.</remarks>
    public static async Task<Dictionary<string, object?>> ToRequestAsync(
        CollectionDefinition definition, PocketBaseVersion version, Func<string, Task<string>> collectionId)
    {
        var fields = new List<Dictionary<string, object?>>();
        foreach (var field in definition.Fields)
        {
            fields.Add(await ToFieldAsync(field, version, collectionId));
        }

        if (version.HasSuperuserCollection)
        {
            // 0.22 gives every record `created` and `updated`; 0.23+ only when the collection has these autodate fields
            // (its admin UI adds them to a new collection, its API does not). Tests compare and sort by them.
            fields.Add(new() { ["name"] = "created", ["type"] = "autodate", ["onCreate"] = true, ["onUpdate"] = false });
            fields.Add(new() { ["name"] = "updated", ["type"] = "autodate", ["onCreate"] = true, ["onUpdate"] = true });
        }

        return new Dictionary<string, object?>
        {
            ["name"] = definition.Name,
            ["type"] = "base",
            [version.HasSuperuserCollection ? "fields" : "schema"] = fields,
            ["listRule"] = definition.ListRule,
            ["viewRule"] = definition.ViewRule,
            ["createRule"] = definition.CreateRule,
            ["updateRule"] = definition.UpdateRule,
            ["deleteRule"] = definition.DeleteRule,
        };
    }

    /// <summary>One field as this version spells it (a 0.23+ field, or a 0.22 schema entry).</summary>
    public static async Task<Dictionary<string, object?>> ToFieldAsync(FieldDefinition field, PocketBaseVersion version, Func<string, Task<string>> collectionId)
    {
        var options = new Dictionary<string, object?>();
        if (field.RelatedCollection is { } related)
        {
            options["collectionId"] = await collectionId(related);
            options["maxSelect"] = field.MaxSelect ?? 1;
            options["cascadeDelete"] = field.CascadeDelete;
        }

        if (field.Max is { } max)
        {
            options["max"] = max;
        }

        var entry = new Dictionary<string, object?> { ["name"] = field.Name, ["type"] = field.Type, ["required"] = field.Required };
        if (version.HasSuperuserCollection)
        {
            // 0.23+: a field's options sit at its top level.
            foreach (var (key, value) in options)
            {
                entry[key] = value;
            }
        }
        else
        {
            entry["options"] = options;
        }

        return entry;
    }
}
