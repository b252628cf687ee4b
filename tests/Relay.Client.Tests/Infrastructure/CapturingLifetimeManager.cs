using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>SignalR's default lifetime manager that also hands each connection's context to the fake relay.</summary>
internal sealed class CapturingLifetimeManager<THub>(FakeRelay relay, ILogger<DefaultHubLifetimeManager<THub>> logger) : DefaultHubLifetimeManager<THub>(logger)
    where THub : Hub
{
    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        relay.Capture(connection);
        return base.OnConnectedAsync(connection);
    }
}
