using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// One PocketBase stream of a session and the part of its topic set held on it. A user session has one; the guest
/// session spreads its topics over several once they outgrow <see cref="SessionOptions.GuestTopicsPerStream"/>, so no
/// single stream (and no guest filling it) holds the whole guest budget. State is guarded by the session's lock.
/// </summary>
internal sealed class UpstreamShard(UserSession session, int index) : IUpstreamSubscriber
{
    public int Index { get; } = index;

    /// <summary>Topics routed to this stream; guarded by the session's lock.</summary>
    public int TopicCount { get; set; }

    /// <summary>Started on the shard's first topic; guarded by the session's lock.</summary>
    public IUpstream? Connection { get; set; }

    /// <summary>
    /// While a class session changes the member whose token holds its stream: events still arriving on the old stream
    /// are dropped (its holder may have left the class). Guarded by the session's lock.
    /// </summary>
    public bool Suspended { get; set; }

    public string Name => Index == 0 ? session.Name : $"{session.Name}#{Index}";

    public string? Token => session.Token;

    public TopicSnapshot GetTopics() => session.GetTopics(this);

    public ValueTask OnEventAsync(UpstreamEvent upstreamEvent) => session.OnEventAsync(this, upstreamEvent);

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics) => session.OnTopicsRefused(upstreamTopics);

    public ValueTask OnResubscribedAsync() => session.OnResubscribedAsync(this);
}
