using System.Security.Claims;

namespace Relay.Auth;

/// <summary>
/// The identity of a connection: an auth record PocketBase verified, or a guest. The token is a property, not a claim,
/// so nothing that logs or serializes claims can leak it.
/// </summary>
internal sealed class PocketBaseIdentity : ClaimsIdentity
{
    public const string AuthenticationScheme = "PocketBase";
    public const string CollectionIdClaim = "pb_collection_id";
    public const string CollectionNameClaim = "pb_collection_name";

    private PocketBaseIdentity(IEnumerable<Claim> claims, string? token, DateTimeOffset expiresAt)
        : base(claims, AuthenticationScheme)
    {
        Token = token;
        ExpiresAt = expiresAt;
    }

    private PocketBaseIdentity(PocketBaseIdentity other)
        : base(other)
    {
        Token = other.Token;
        ExpiresAt = other.ExpiresAt;
    }

    /// <summary>When <see cref="Token"/> expires; <see cref="DateTimeOffset.MaxValue"/> for a guest.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The verified token to subscribe upstream with; null for a guest.</summary>
    public string? Token { get; }

    public bool IsGuest => Token is null;

    public string? CollectionId => FindFirst(CollectionIdClaim)?.Value;

    public string? RecordId => FindFirst(ClaimTypes.NameIdentifier)?.Value;

    public static PocketBaseIdentity Guest() => new([new Claim(ClaimTypes.Name, "guest")], token: null, DateTimeOffset.MaxValue);

    public static PocketBaseIdentity ForRecord(VerifiedToken verified) => new(
        [
            new Claim(ClaimTypes.NameIdentifier, verified.RecordId),
            new Claim(CollectionIdClaim, verified.CollectionId),
            new Claim(CollectionNameClaim, verified.CollectionName),
        ],
        verified.Token,
        verified.ExpiresAt);

    public override ClaimsIdentity Clone() => new PocketBaseIdentity(this);
}
