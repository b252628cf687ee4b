using System.Text.Json.Serialization;

namespace Relay.Bff;

/// <summary>
/// What Relay keeps server-side for one signed-in browser: the PocketBase token and the user's record. The browser's
/// cookie carries only <see cref="Id"/>, encrypted with Data Protection.
/// </summary>
internal sealed record BffSession(
    string Id,
    string CollectionId,
    string CollectionName,
    string RecordId,
    string Token,
    DateTimeOffset TokenExpiresAt,
    DateTimeOffset ValidatedAt,
    DateTimeOffset SessionExpiresAt,
    string RecordJson)
{
    /// <summary>For logs: ids, never the token.</summary>
    [JsonIgnore]
    public string Name => $"{CollectionId}/{RecordId}";
}
