using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>One call a client made on the fake hub; <see cref="Topic"/> of a <c>SubscribeMany</c> lists its topics joined by commas.</summary>
internal sealed record HubCall(string ConnectionId, string Method, string Topic, SubscriptionOptions? Options)
{
    /// <summary>The entries of a <c>SubscribeMany</c>.</summary>
    public SubscribeRequest[]? Requests { get; init; }
}
