using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// Cluster mode's <see cref="IUpstreamFactory"/>: with Redis configured, a session's stream is its share of the one the
/// owning instance holds (<see cref="ClusterUpstream"/>, which falls back to a local connection when Redis is away);
/// without, the session's own <see cref="UpstreamConnection"/>.
/// </summary>
internal sealed class ClusterUpstreamFactory(ClusterNode node, UpstreamConnectionFactory local) : IUpstreamFactory
{
    public IUpstream Create(IUpstreamSubscriber subscriber)
        => node.Enabled ? node.Create(subscriber, local.CreateConnection) : local.CreateConnection(subscriber);
}
