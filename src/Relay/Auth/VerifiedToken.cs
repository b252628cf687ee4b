using System.Text.Json;

namespace Relay.Auth;

/// <summary>
/// PocketBase's verdict on a valid token: whose it is, and the fresh token it issued in exchange. <see cref="Record"/>
/// is the user's auth record as PocketBase returned it to that user (shared streams compute class keys from it); a
/// cached verdict's record may be stale, so only uncached verdicts are used for that.
/// </summary>
internal sealed record VerifiedToken(string CollectionId, string CollectionName, string RecordId, string Token, DateTimeOffset ExpiresAt, JsonElement? Record = null);
