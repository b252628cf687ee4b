using System.Buffers.Text;
using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>
/// The unverified claims of a PocketBase auth token. Used only to find which collection to verify against and to refuse
/// tokens that cannot be PocketBase auth tokens (malformed, an admin's, another token type, expired) without a round
/// trip: anything PocketBase would refuse for its shape alone must never cost PocketBase a call. Identity always comes
/// from PocketBase's answer.
/// </summary>
internal readonly record struct JwtPayload(string CollectionId, string RecordId, DateTimeOffset ExpiresAt)
{
    private const int MaxTokenLength = 4096;
    private const int MaxIdLength = 100;

    /// <summary>The auth token types: <c>authRecord</c> up to PocketBase 0.22, <c>auth</c> from 0.23.</summary>
    private static readonly string[] AuthTokenTypes = ["authRecord", "auth"];

    public static bool TryRead(string token, out JwtPayload payload)
    {
        payload = default;
        if (token.Length > MaxTokenLength)
        {
            return false;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0 || parts[2].Length == 0)
        {
            return false;
        }

        try
        {
            using (var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])))
            {
                if (header.RootElement.ValueKind != JsonValueKind.Object
                    || !header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String)
                {
                    return false;
                }
            }

            using var document = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !TryGetString(root, "collectionId", out var collectionId) || !IsIdentifier(collectionId)
                || !TryGetString(root, "id", out var recordId) || recordId.Length > MaxIdLength
                || !TryGetString(root, "type", out var type) || Array.IndexOf(AuthTokenTypes, type) < 0
                || !root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds))
            {
                return false;
            }

            payload = new JwtPayload(collectionId, recordId, DateTimeOffset.FromUnixTimeSeconds(seconds));
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// The <c>exp</c> of any PocketBase token, a superuser's or 0.22 admin's included (which <see cref="TryRead"/>
    /// refuses): for renewing Relay's own superuser token before it expires, never to accept a client's token.
    /// </summary>
    public static bool TryReadExpiry(string token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        var parts = token.Split('.');
        if (token.Length > MaxTokenLength || parts.Length != 3 || parts[1].Length == 0)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds))
            {
                return false;
            }

            expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static bool TryGetString(JsonElement root, string name, out string value)
    {
        value = root.TryGetProperty(name, out var property) && property.ValueKind == JsonValueKind.String ? property.GetString()! : string.Empty;
        return value.Length > 0;
    }

    /// <summary>PocketBase ids and collection names are <c>[A-Za-z0-9_]</c>; anything else would be a path injection attempt.</summary>
    private static bool IsIdentifier(string value)
    {
        if (value.Length > MaxIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
