using Relay.Hubs;
using Serilog.Events;

namespace Relay.Hosting;

/// <summary>
/// SignalR logs every exception a hub method throws at Error level, including the <see cref="RelayHubException"/>s
/// that refuse bad client input on purpose. Those are counted (<c>relay.hub.errors</c>) and logged by the hub at
/// Debug; as errors they would drown the real ones.
/// </summary>
internal static class HubRefusalLogFilter
{
    public static bool IsExpectedRefusal(LogEvent logEvent) => logEvent.Exception is RelayHubException;
}
