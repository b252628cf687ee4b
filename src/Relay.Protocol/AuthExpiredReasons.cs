namespace Relay.Client.Protocol;

/// <summary>The values of <see cref="AuthExpiredSignal.Reason"/>.</summary>
public static class AuthExpiredReasons
{
    /// <summary>PocketBase refused to refresh the token: it was revoked (user deleted, password or token key changed).</summary>
    public const string TokenRevoked = "token_revoked";

    /// <summary>The token expired before Relay could refresh it (for example while PocketBase was unreachable).</summary>
    public const string TokenExpired = "token_expired";
}
