namespace Relay.Client.Protocol;

/// <summary>The methods a client invokes on the Relay hub. Their names are the wire names.</summary>
public interface IRelayHub
{
    /// <summary>
    /// Subscribes the connection to <paramref name="topic"/>. Subscribing again to the same topic replaces its options.
    /// Completes once PocketBase has accepted the subscription, so every change committed afterwards is delivered.
    /// </summary>
    /// <param name="topic"><c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>.</param>
    /// <param name="options">Options passed through to PocketBase, or <see langword="null"/>. Always sent, even when null.</param>
    Task Subscribe(string topic, SubscriptionOptions? options);

    /// <summary>
    /// Subscribes the connection to every entry of <paramref name="requests"/> in one call (protocol version 2), counted once by
    /// the call rate limit. Entries are applied in order, each as <see cref="Subscribe"/> would; the call completes once
    /// PocketBase holds every accepted topic. One refused entry fails only itself.
    /// </summary>
    /// <param name="requests">At most <c>Relay:MaxSubscriptionsPerConnection</c> entries.</param>
    /// <returns>One result per entry, in the order of <paramref name="requests"/>.</returns>
    Task<SubscribeResult[]> SubscribeMany(SubscribeRequest[] requests);

    /// <summary>Removes the connection's subscription to <paramref name="topic"/>; unknown topics are ignored.</summary>
    /// <param name="topic">The topic as passed to <see cref="Subscribe"/>.</param>
    Task Unsubscribe(string topic);

    /// <summary>
    /// Hands Relay a fresh token of the same user without reconnecting; Relay verifies it with PocketBase and uses it
    /// for the user's subscriptions from then on.
    /// </summary>
    /// <param name="token">A PocketBase auth token of the connection's own user.</param>
    Task Reauthenticate(string token);
}
