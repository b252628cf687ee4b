namespace Relay.Upstream;

/// <summary>
/// Opens a session's PocketBase stream. Sessions ask for one and do not know which kind they get: the session's own
/// <see cref="UpstreamConnection"/> (<see cref="UpstreamConnectionFactory"/>), or, in cluster mode, its share of the
/// stream one instance holds for every instance (<c>Relay.Cluster.ClusterUpstreamFactory</c>, which replaces this one).
/// </summary>
internal interface IUpstreamFactory
{
    IUpstream Create(IUpstreamSubscriber subscriber);
}
