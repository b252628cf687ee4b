using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>
/// PocketBase's answer to a sign-in or <c>auth-refresh</c> (<c>{ token, record }</c>), read in one place for the hub's
/// verifier and every BFF path (password and OAuth2 sign-in, session refresh), so the rule that Relay never acts for a
/// superuser cannot live in one copy only.
/// </summary>
internal sealed record PocketBaseAuthAnswer(string Token, DateTimeOffset ExpiresAt, string CollectionId, string CollectionName, string RecordId, JsonElement Record)
{
    /// <summary>
    /// The auth collection of PocketBase 0.23+ superusers. Its id is generated per installation, so only the name
    /// PocketBase returns tells a superuser's token from a user's (0.22 admin tokens carry no collection at all and never
    /// get this far).
    /// </summary>
    public const string SuperusersCollection = "_superusers";

    /// <summary>Why <see cref="TryAccept"/> refuses a superuser's answer (for logs).</summary>
    public const string SuperuserRefusal = "superuser tokens are not accepted";

    /// <summary>
    /// Reads a successful answer and accepts it unless it is a superuser's: a superuser sees every record whatever the
    /// rules and may call PocketBase's admin API, so such a token must never hold a stream or a browser session.
    /// </summary>
    /// <param name="root">The answer's JSON.</param>
    /// <param name="endpoint">The PocketBase endpoint, for the exception's message.</param>
    /// <param name="answer">The accepted answer; null for a superuser's.</param>
    /// <param name="superuser">A superuser's answer, refused, so the caller can log whose it was; otherwise null.</param>
    /// <returns>False for a superuser's answer.</returns>
    /// <exception cref="UpstreamException">The answer lacks a token or record: PocketBase did not answer as documented.</exception>
    public static bool TryAccept(JsonElement root, string endpoint, [NotNullWhen(true)] out PocketBaseAuthAnswer? answer, out PocketBaseAuthAnswer? superuser)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !TryGetString(root, "token", out var token)
            || !JwtPayload.TryRead(token, out var payload)
            || !root.TryGetProperty("record", out var record) || record.ValueKind != JsonValueKind.Object
            || !TryGetString(record, "id", out var recordId)
            || !TryGetString(record, "collectionId", out var collectionId))
        {
            throw new UpstreamException($"PocketBase's answer to {endpoint} lacked a token or record.");
        }

        var collectionName = TryGetString(record, "collectionName", out var name) ? name : collectionId;
        var read = new PocketBaseAuthAnswer(token, payload.ExpiresAt, collectionId, collectionName, recordId, record.Clone());
        if (IsSuperusersCollection(collectionName))
        {
            answer = null;
            superuser = read;
            return false;
        }

        answer = read;
        superuser = null;
        return true;
    }

    /// <summary>
    /// True for <c>_superusers</c> (any casing): a sign-in to it is refused before PocketBase is asked, so Relay is no
    /// oracle for superuser passwords.
    /// </summary>
    public static bool IsSuperusersCollection(string collection) => string.Equals(collection, SuperusersCollection, StringComparison.OrdinalIgnoreCase);

    private static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = element.TryGetProperty(name, out var property) && property.ValueKind == JsonValueKind.String ? property.GetString()! : string.Empty;
        return value.Length > 0;
    }
}
