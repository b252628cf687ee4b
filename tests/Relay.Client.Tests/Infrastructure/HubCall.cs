using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>One call a client made on the fake hub.</summary>
internal sealed record HubCall(string ConnectionId, string Method, string Topic, SubscriptionOptions? Options);
