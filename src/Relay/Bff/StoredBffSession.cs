namespace Relay.Bff;

/// <summary>
/// A <see cref="BffSession"/> as Redis holds it: without the session id (the key is its hash) and with the PocketBase
/// token encrypted by Data Protection, so a Redis replica, backup or <c>MONITOR</c> hands out neither.
/// </summary>
internal sealed record StoredBffSession(
    string CollectionId,
    string CollectionName,
    string RecordId,
    string ProtectedToken,
    DateTimeOffset TokenExpiresAt,
    DateTimeOffset ValidatedAt,
    DateTimeOffset SessionExpiresAt,
    string RecordJson);
