using System.Diagnostics.CodeAnalysis;

namespace Relay.Client.Protocol;

/// <summary>The methods the Relay hub invokes on its clients. Their names are the wire names.</summary>
public interface IRelayClient
{
    /// <summary>A record change for a subscribed topic, in the order PocketBase emitted it.</summary>
    /// <param name="relayEvent">The change.</param>
    [SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "The wire method name is fixed by the protocol (docs/protocol.md).")]
    Task Event(RelayEvent relayEvent);

    /// <summary>
    /// Several record changes at once, in order (protocol version 2): what <see cref="Event"/> would have delivered one by one.
    /// Sent only to connections that declared version 2 or later with <see cref="RelayProtocol.VersionParameter"/>.
    /// </summary>
    /// <param name="relayEvents">The changes, oldest first.</param>
    Task Events(RelayEvent[] relayEvents);

    /// <summary>Events for <see cref="ResyncSignal.Topics"/> may have been lost; refetch them.</summary>
    /// <param name="signal">The affected topics and the reason.</param>
    Task Resync(ResyncSignal signal);

    /// <summary>The user's token is no longer accepted; the connection closes next. Reconnect with a new token.</summary>
    /// <param name="signal">Why.</param>
    Task AuthExpired(AuthExpiredSignal signal);
}
