using System.Text.Json;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>PocketBase's answer to a sign-in or refresh: an accepted token and record, or a refusal with a status and message.</summary>
internal sealed record BffAuthResult(int StatusCode, PocketBaseAuthAnswer? Answer, string? Message)
{
    public bool Succeeded => Answer is not null;

    /// <summary>PocketBase said yes, but to a superuser, whom Relay refuses (<see cref="PocketBaseAuthAnswer.TryAccept"/>).</summary>
    public bool SuperuserRefused { get; init; }

    public string? Token => Answer?.Token;

    public DateTimeOffset TokenExpiresAt => Answer?.ExpiresAt ?? default;

    public JsonElement Record => Answer?.Record ?? default;

    public string RecordId => Answer!.RecordId;

    public string CollectionId => Answer!.CollectionId;

    public string CollectionName => Answer!.CollectionName;

    public static BffAuthResult Refused(int statusCode, string? message) => new(statusCode, null, message);
}
