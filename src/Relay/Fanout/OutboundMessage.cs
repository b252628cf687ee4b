using Microsoft.AspNetCore.SignalR;

namespace Relay.Fanout;

/// <summary>
/// A message queued for one connection. <see cref="Key"/> names the record an event is about (topic and record id);
/// a newer event with the same key supersedes an older one when a queue must be compacted. Control messages
/// (<c>Resync</c>, <c>AuthExpired</c>) have no key and are never dropped by compaction.
/// </summary>
internal readonly record struct OutboundMessage(SerializedHubMessage Message, string? Key)
{
    public static OutboundMessage Control(SerializedHubMessage message) => new(message, null);
}
