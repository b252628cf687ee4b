using Microsoft.AspNetCore.Http.Connections;

namespace Relay.Auth;

/// <summary>What a credential source and the hub agree on.</summary>
internal static class CredentialItems
{
    /// <summary>Every transport SignalR offers.</summary>
    public const HttpTransportType AllTransports = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;

    /// <summary>
    /// The <see cref="HttpContext.Items"/> key under which a source leaves the id of the session (BFF cookie) a request
    /// was authenticated by: the hub binds the connection's identity to that session.
    /// </summary>
    public static readonly object SessionIdKey = new();
}
