using System.Runtime.Serialization;

namespace Relay.Client.Protocol;

/// <summary>
/// Sent (hub method <c>AuthExpired</c>) when PocketBase no longer accepts the user's token (it expired, the user was
/// deleted or changed their password). Relay closes the connection right after; connect again with a new token.
/// </summary>
[DataContract]
public sealed class AuthExpiredSignal
{
    /// <summary>Why; one of <see cref="AuthExpiredReasons"/>.</summary>
    [DataMember(Name = "reason")]
    public required string Reason { get; set; }
}
