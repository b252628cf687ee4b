namespace Relay.Auth;

/// <summary>PocketBase's verdict on a valid token: whose it is, and the fresh token it issued in exchange.</summary>
internal sealed record VerifiedToken(string CollectionId, string CollectionName, string RecordId, string Token, DateTimeOffset ExpiresAt);
