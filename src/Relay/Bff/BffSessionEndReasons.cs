namespace Relay.Bff;

/// <summary>Why a BFF session ended: the <c>reason</c> of <c>relay.bff.sessions_ended</c> and of the log line.</summary>
internal static class BffSessionEndReasons
{
    public const string SignedOut = "signed_out";

    /// <summary>The same browser signed in again (password or OAuth2): its previous session ends.</summary>
    public const string SignedInAgain = "signed_in_again";

    /// <summary>PocketBase no longer accepts the session's token (password changed, user deleted).</summary>
    public const string Revoked = "revoked";

    /// <summary>The user signed in more than <see cref="BffOptions.MaxSessionsPerUser"/> times; the oldest ended.</summary>
    public const string OverCap = "over_cap";

    /// <summary>A superuser's session (stored before superusers were refused at sign-in).</summary>
    public const string Superuser = "superuser";
}
