namespace Relay.Auth;

/// <summary>The outcome of verifying a token: valid (with <see cref="Token"/>), or refused with a reason for logs.</summary>
internal readonly record struct TokenVerdict(VerifiedToken? Token, string? Reason)
{
    public static TokenVerdict Valid(VerifiedToken token) => new(token, null);

    public static TokenVerdict Invalid(string reason) => new(null, reason);
}
