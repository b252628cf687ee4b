namespace Relay.PocketBase;

/// <summary>How a sign-in or <c>auth-refresh</c> call to PocketBase ended; what each means for Relay is the caller's.</summary>
internal enum PocketBaseAuthOutcome
{
    /// <summary>PocketBase accepted the credentials or token of a user.</summary>
    Accepted,

    /// <summary>PocketBase accepted them, but for a superuser, whom Relay never acts for.</summary>
    Superuser,

    /// <summary>PocketBase refused the credentials or token (400, 401, 403 or 404).</summary>
    Refused,

    /// <summary>PocketBase answered with another status (429, 408, 5xx), which says nothing about the user.</summary>
    Failed,

    /// <summary>PocketBase's answer could not be read.</summary>
    Unreadable,

    /// <summary>PocketBase could not be reached, or did not answer in time.</summary>
    Unreachable,
}
