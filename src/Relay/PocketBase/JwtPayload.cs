using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
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
        if (!TryParseClaims(token, out var claims))
        {
            return false;
        }

        using (claims)
        {
            var root = claims.RootElement;
            if (!TryGetString(root, "collectionId", out var collectionId) || !IsIdentifier(collectionId)
                || !TryGetString(root, "id", out var recordId) || recordId.Length > MaxIdLength
                || !TryGetString(root, "type", out var type) || Array.IndexOf(AuthTokenTypes, type) < 0
                || !TryGetExpiry(root, out var expiresAt))
            {
                return false;
            }

            payload = new JwtPayload(collectionId, recordId, expiresAt);
            return true;
        }
    }

    /// <summary>
    /// The <c>exp</c> of any PocketBase token, a superuser's or 0.22 admin's included (which <see cref="TryRead"/>
    /// refuses): for renewing Relay's own superuser token before it expires, never to accept a client's token.
    /// </summary>
    public static bool TryReadExpiry(string token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        if (!TryParseClaims(token, out var claims))
        {
            return false;
        }

        using (claims)
        {
            return TryGetExpiry(claims.RootElement, out expiresAt);
        }
    }

    /// <summary>A JWT's claims object, once its shape and header are those of a JWT; the caller disposes it.</summary>
    private static bool TryParseClaims(string token, [NotNullWhen(true)] out JsonDocument? claims)
    {
        claims = null;
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

            var document = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return false;
            }

            claims = document;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }
    }

    private static bool TryGetExpiry(JsonElement root, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        if (!root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds)
            || seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return false;
        }

        expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
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
