using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>One SSE message from PocketBase, parsed: <c>PB_CONNECT</c> carries <see cref="ClientId"/>, record events carry <see cref="Action"/> and <see cref="Record"/>.</summary>
internal readonly record struct UpstreamMessage(string? ClientId, string? Action, JsonElement Record)
{
    public bool IsRecordEvent => Action is not null && Record.ValueKind == JsonValueKind.Object;
}
