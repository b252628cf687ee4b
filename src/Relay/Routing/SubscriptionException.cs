namespace Relay.Routing;

/// <summary>
/// A refused subscription, with the stable error code the client receives (<see cref="Client.Protocol.RelayErrorCodes"/>).
/// Thrown by Routing and Sessions, which know nothing of SignalR; the hub turns it into its own exception.
/// </summary>
internal sealed class SubscriptionException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
