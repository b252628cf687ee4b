namespace Relay.Upstream;

/// <summary>What an <see cref="UpstreamConnection"/> needs from the session that owns it.</summary>
internal interface IUpstreamSubscriber
{
    /// <summary>A name for logs that identifies the session without secrets (auth collection and record id, or "guest").</summary>
    string Name { get; }

    /// <summary>The token subscriptions are posted with; null for the guest session.</summary>
    string? Token { get; }

    /// <summary>The complete topic set to hold upstream, with the version it belongs to.</summary>
    TopicSnapshot GetTopics();

    /// <summary>Routes one record event; called in stream order, never concurrently.</summary>
    ValueTask OnEventAsync(UpstreamEvent upstreamEvent);

    /// <summary>
    /// PocketBase refused these topics (as posted, options included); every other topic is held. The subscriber drops
    /// them from its set. Called while no other POST runs; must not block.
    /// </summary>
    void OnTopicsRefused(IReadOnlyList<string> upstreamTopics);

    /// <summary>
    /// <see cref="OnTopicsRefused(IReadOnlyList{string})"/>, found in the topic set of <paramref name="version"/>; called
    /// before that version's waiters complete. A cluster owner's stream passes the version on with the refusal.
    /// </summary>
    void OnTopicsRefused(IReadOnlyList<string> upstreamTopics, long version) => OnTopicsRefused(upstreamTopics);

    /// <summary>The stream was re-established and every topic posted again; events in the gap are lost.</summary>
    ValueTask OnResubscribedAsync();
}
