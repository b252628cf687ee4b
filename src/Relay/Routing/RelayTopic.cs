namespace Relay.Routing;

/// <summary>A topic in PocketBase syntax: every record of a collection (<c>COLLECTION/*</c>) or one record (<c>COLLECTION/RECORD_ID</c>).</summary>
internal readonly record struct RelayTopic(string Collection, string? RecordId)
{
    /// <summary>Longest collection name or record id accepted; PocketBase's own names and ids are far shorter.</summary>
    public const int MaxPartLength = 100;

    public override string ToString() => $"{Collection}/{RecordId ?? "*"}";

    /// <summary>
    /// Parses <paramref name="text"/>; on failure <paramref name="error"/> says why in words a client developer can act on.
    /// Only letters, digits, <c>_</c> and <c>-</c> are accepted in names and ids, so a topic can never smuggle options
    /// (<c>?</c>), a second path segment or whitespace into what Relay posts to PocketBase.
    /// </summary>
    public static bool TryParse(string? text, out RelayTopic topic, out string error)
    {
        topic = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "the topic is empty; expected COLLECTION/* or COLLECTION/RECORD_ID";
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = $"'{Truncate(text)}' has no '/'; expected COLLECTION/* or COLLECTION/RECORD_ID";
            return false;
        }

        var collection = text[..slash];
        var record = text[(slash + 1)..];
        if (!IsName(collection))
        {
            error = $"'{Truncate(text)}' has an invalid collection name; use 1-{MaxPartLength} letters, digits or '_'";
            return false;
        }

        if (record == "*")
        {
            topic = new RelayTopic(collection, null);
            error = string.Empty;
            return true;
        }

        if (!IsRecordId(record))
        {
            error = $"'{Truncate(text)}' has an invalid record id; use '*' or 1-{MaxPartLength} letters, digits, '_' or '-'";
            return false;
        }

        topic = new RelayTopic(collection, record);
        error = string.Empty;
        return true;
    }

    private static bool IsName(string value)
        => value.Length is > 0 and <= MaxPartLength && value.AsSpan().ContainsAnyExcept(NameCharacters) is false;

    private static bool IsRecordId(string value)
        => value.Length is > 0 and <= MaxPartLength && value.AsSpan().ContainsAnyExcept(RecordIdCharacters) is false;

    private static string Truncate(string value) => value.Length <= 120 ? value : value[..120] + "...";

    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    private static readonly System.Buffers.SearchValues<char> RecordIdCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
}
