using Microsoft.AspNetCore.SignalR;

namespace Relay.Hubs;

/// <summary>A refused hub call. SignalR sends the message to the caller; it starts with the stable <see cref="Code"/>.</summary>
internal sealed class RelayHubException(string code, string detail) : HubException($"{code}: {detail}")
{
    public string Code { get; } = code;
}
