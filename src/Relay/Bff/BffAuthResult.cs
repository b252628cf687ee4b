using System.Text.Json;

namespace Relay.Bff;

/// <summary>PocketBase's answer to a sign-in or refresh: a token and record, or a refusal with PocketBase's status and message.</summary>
internal sealed record BffAuthResult(int StatusCode, string? Token, DateTimeOffset TokenExpiresAt, JsonElement Record, string? Message)
{
    public bool Succeeded => Token is not null;

    public string RecordId => Record.GetProperty("id").GetString()!;

    public string CollectionId => Record.GetProperty("collectionId").GetString()!;

    public string CollectionName => Record.TryGetProperty("collectionName", out var name) && name.GetString() is { } value ? value : CollectionId;

    public static BffAuthResult Refused(int statusCode, string? message) => new(statusCode, null, default, default, message);
}
