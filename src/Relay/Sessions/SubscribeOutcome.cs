namespace Relay.Sessions;

/// <summary>What a subscription resumed from.</summary>
/// <param name="Recovered">Every event after the client's <c>since</c> was queued for the connection before any live one.</param>
/// <param name="Offset">The log's head when the connection joined; null when the connection was closing.</param>
internal readonly record struct SubscribeOutcome(bool Recovered, string? Offset);
