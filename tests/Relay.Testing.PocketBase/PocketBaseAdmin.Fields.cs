namespace Relay.Testing.PocketBase;

/// <summary>Fields added to an existing collection (e.g. a <c>role</c> on <c>users</c>), in the version's shape.</summary>
public sealed partial class PocketBaseAdmin
{
    /// <summary>Adds <paramref name="field"/> to <paramref name="collection"/> unless a field of that name exists.</summary>
    public async Task EnsureFieldAsync(string collection, FieldDefinition field, CancellationToken cancellationToken = default)
    {
        var current = await SendAsync(HttpMethod.Get, $"api/collections/{collection}", body: null, token: null, cancellationToken);
        // 0.23+ lists every field (system ones included) under `fields`; 0.22 the custom ones under `schema`.
        var key = Version.HasSuperuserCollection ? "fields" : "schema";
        var fields = current.GetProperty(key).EnumerateArray().ToList();
        if (fields.Exists(existing => existing.GetProperty("name").GetString() == field.Name))
        {
            return;
        }

        // The existing fields go back as PocketBase gave them (ids included), or it would drop and recreate them.
        var updated = new List<object?>(fields.Select(static existing => (object?)existing))
        {
            await CollectionShape.ToFieldAsync(field, Version, name => CollectionIdAsync(name, cancellationToken)),
        };
        await SendAsync(HttpMethod.Patch, $"api/collections/{collection}", new Dictionary<string, object?> { [key] = updated }, token: null, cancellationToken);
    }
}
