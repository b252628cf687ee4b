using Microsoft.AspNetCore.SignalR;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>A connection the fake hub accepted, with the token it presented either way Relay accepts one.</summary>
internal sealed record FakeConnection(string ConnectionId, string? QueryToken, string? BearerToken, HubCallerContext Context)
{
    /// <summary>The <c>relay_protocol</c> query parameter the client declared, if any.</summary>
    public string? ProtocolVersion { get; init; }
}
