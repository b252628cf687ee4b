using Relay.PocketBase;

namespace Relay.Upstream;

/// <summary>PocketBase refused one topic of a session's set; the topic was dropped and the stream kept.</summary>
internal sealed class TopicRefusedException(string upstreamTopic, UpstreamException refusal)
    : Exception($"PocketBase refused the topic: {refusal.Message}", refusal)
{
    /// <summary>The topic as it was posted (options included).</summary>
    public string UpstreamTopic { get; } = upstreamTopic;
}
