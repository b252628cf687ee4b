using Microsoft.Extensions.Options;

namespace Relay.Sessions;

internal sealed class MemorySessionEventLogFactory(IOptions<HistoryOptions> options, TimeProvider timeProvider) : ISessionEventLogFactory
{
    public ISessionEventLog Create(SessionKey key) => new MemorySessionEventLog(options.Value, timeProvider);
}
