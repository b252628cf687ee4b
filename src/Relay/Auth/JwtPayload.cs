using System.Buffers.Text;
using System.Text.Json;

namespace Relay.Auth;

/// <summary>
/// The unverified claims of a PocketBase JWT. Used only to find which collection to verify against and to refuse
/// obviously malformed or expired tokens without a round trip; identity always comes from PocketBase's answer.
/// </summary>
internal readonly record struct JwtPayload(string CollectionId, DateTimeOffset ExpiresAt)
{
    private const int MaxTokenLength = 4096;

    public static bool TryRead(string token, out JwtPayload payload)
    {
        payload = default;
        if (token.Length > MaxTokenLength)
        {
            return false;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length == 0)
        {
            return false;
        }

        try
        {
            var bytes = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("collectionId", out var collection) || collection.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds))
            {
                return false;
            }

            payload = new JwtPayload(collection.GetString()!, DateTimeOffset.FromUnixTimeSeconds(seconds));
            return payload.CollectionId.Length is > 0 and <= 100 && payload.CollectionId.AsSpan().IndexOfAny('/', '?', '#') < 0;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }
}
