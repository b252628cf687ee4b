using Relay.Sessions;

namespace Relay.Cluster;

/// <summary>Session logs on the Redis Streams in cluster mode; in memory otherwise.</summary>
internal sealed class ClusterSessionEventLogFactory(
    ClusterNode node,
    Microsoft.Extensions.Options.IOptions<HistoryOptions> options,
    Microsoft.Extensions.Options.IOptions<Relay.Sessions.SessionOptions> sessionOptions,
    TimeProvider timeProvider) : ISessionEventLogFactory
{
    public ISessionEventLog Create(SessionKey key)
        => node.Enabled ? new ClusterSessionEventLog(key, node.Store, node, options.Value, timeProvider, key.IsGuest ? sessionOptions.Value.MaxGuestStreams : 1) : new MemorySessionEventLog(options.Value, timeProvider);
}
