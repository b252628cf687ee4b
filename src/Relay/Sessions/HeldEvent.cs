using Relay.Client.Protocol;
using Relay.Fanout;

namespace Relay.Sessions;

/// <summary>A class session's event waiting out its hold before it is sent (<see cref="UserSession.HoldEvents"/>).</summary>
internal sealed record HeldEvent(RelayConnection[] Recipients, OutboundMessage Message, long ReceivedTimestamp, string Collection, RelayEvent RelayEvent);
