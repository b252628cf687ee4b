namespace Relay.Routing;

/// <summary>A validated subscription: the topic as the client named it and the exact topic Relay holds upstream for it.</summary>
/// <param name="Topic">The bare topic, <c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>; events carry it back to the client.</param>
/// <param name="UpstreamTopic">The topic posted to PocketBase: the bare topic plus <c>?options=</c> when options were given.</param>
/// <param name="Filter">The <c>filter</c> query option, if any; PocketBase is asked to validate it before the topic is held.</param>
internal sealed record TopicSubscription(string Topic, string UpstreamTopic, string? Filter = null);
