namespace Relay.PocketBase;

/// <summary>The body of <c>POST /api/realtime</c>; it replaces the client's whole subscription set.</summary>
internal sealed record SubscriptionRequest(string ClientId, IReadOnlyCollection<string> Subscriptions);
