using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// The mode of a session stream and what belongs to it: the own stream (alone and returning) and the topic-set version a
/// return waits for. Immutable: <see cref="AloneFallback"/> replaces it whole, so a reader on any thread sees one mode
/// with its own stream, never a mix of two.
/// </summary>
internal sealed record ModeState(ClusterMode Kind, UpstreamConnection? Alone, long ReturnVersion)
{
    public static readonly ModeState Following = new(ClusterMode.Cluster, null, -1);
}
