namespace Relay.PocketBase;

/// <summary>One collection as PocketBase lists it: id, name, whether it is an auth collection, and its read rules (<c>null</c>: superusers only; <c>""</c>: everyone).</summary>
internal sealed record PocketBaseCollection(string Id, string Name, bool IsAuth, string? ListRule, string? ViewRule);
