using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Relay.SharedStreams;

/// <summary>
/// The class a viewer belongs to under a shared rule: users with the same key see exactly the same events. The key is
/// the viewer's values of the auth fields the rule reads, taken from the viewer's own auth record as PocketBase returned
/// it (<c>auth-refresh</c>, <c>auth-with-password</c>). A field missing from that record (hidden from its owner, or not
/// there at all) gives no key: Relay cannot know the value PocketBase will use, so that viewer stays per user.
/// </summary>
internal static class ClassKey
{
    /// <summary>A rule that reads no auth field: everyone, guests included, is one class.</summary>
    public const string Everyone = "everyone";

    /// <summary>Viewers without a token, under a rule that reads an auth field (PocketBase resolves every one of them to null).</summary>
    public const string Guests = "guests";

    /// <summary>Signed-in viewers under a rule that reads only <c>@request.auth.id</c> (as signed in or not); a prefix otherwise.</summary>
    public const string SignedIn = "signed-in";

    /// <summary>
    /// The key of a viewer whose auth record is <paramref name="authRecord"/> (null for a guest) under
    /// <paramref name="ruleClass"/>; null when the rule is not shared or the record lacks a field the rule reads.
    /// </summary>
    public static string? For(RuleClass ruleClass, JsonElement? authRecord)
    {
        if (!ruleClass.IsShared)
        {
            return null;
        }

        if (ruleClass.AuthFields.Count == 0)
        {
            return Everyone;
        }

        if (authRecord is not { } record)
        {
            return Guests;
        }

        if (record.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var values = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(values))
        {
            writer.WriteStartObject();
            foreach (var field in ruleClass.AuthFields)
            {
                // id is read only as "signed in or not" (the classifier refuses anything else), which the key already says.
                if (field == "id")
                {
                    continue;
                }

                if (!record.TryGetProperty(field, out var value))
                {
                    return null;
                }

                writer.WritePropertyName(field);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return ruleClass.AuthFields is ["id"] ? SignedIn : SignedIn + ":" + Encoding.UTF8.GetString(values.WrittenSpan);
    }
}
