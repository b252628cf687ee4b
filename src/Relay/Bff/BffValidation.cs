namespace Relay.Bff;

/// <summary>Shapes of client input the BFF endpoints accept.</summary>
internal static class BffValidation
{
    /// <summary>A PocketBase collection name (or id): letters, digits and underscores only, so it is safe in a URL path.</summary>
    public const string CollectionPattern = "^[A-Za-z0-9_]{1,100}$";

    public const int MaxIdentityLength = 320;

    public const int MaxPasswordLength = 1024;

    public static bool IsCollection(string? value)
        => value is { Length: > 0 and <= 100 } && value.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
