namespace Relay.Client.Protocol;

/// <summary>Constants of the Relay wire contract, shared by the server and every client (see docs/protocol.md).</summary>
public static class RelayProtocol
{
    /// <summary>The path the Relay hub is mapped to.</summary>
    public const string HubPath = "/realtime";

    /// <summary>The version of the hub contract described in docs/protocol.md.</summary>
    public const int Version = 2;

    /// <summary>
    /// The query-string parameter with which a client declares the highest protocol version it understands
    /// (for example <c>/realtime?relay_protocol=2</c>). Without it the server speaks version 1.
    /// </summary>
    public const string VersionParameter = "relay_protocol";

    /// <summary>The query-string parameter that carries the PocketBase auth token (WebSockets and SSE cannot send headers from browsers).</summary>
    public const string AccessTokenParameter = "access_token";
}
