namespace Relay.Sessions;

/// <summary>Who a session belongs to: an auth record (collection id and record id, as PocketBase verified them) or the guests.</summary>
internal readonly record struct SessionKey(string CollectionId, string RecordId)
{
    /// <summary>The one session all connections without a token share.</summary>
    public static SessionKey Guest { get; } = new(string.Empty, string.Empty);

    public bool IsGuest => CollectionId.Length == 0;

    /// <summary>A name for logs and metrics; ids only, never a token.</summary>
    public override string ToString() => IsGuest ? "guest" : $"{CollectionId}/{RecordId}";
}
