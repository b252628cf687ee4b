using System.ComponentModel.DataAnnotations;

namespace Relay.Hubs;

/// <summary>
/// What one client may ask of the hub. The keys sit directly under <c>Relay:</c> (<c>Relay:HubCallsPerSecond</c>, ...),
/// where they were before the hub had an options class of its own.
/// </summary>
internal sealed class HubLimitsOptions
{
    public const string SectionName = "Relay";

    /// <summary>Subscriptions one connection may hold, and the longest <c>SubscribeMany</c> list.</summary>
    [Range(1, 1000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>The most simultaneous connections of one user (guests share one session and are not limited by it).</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>Hub calls (Subscribe, Unsubscribe, Reauthenticate) one connection may make per second, sustained; bursts up to the same number.</summary>
    [Range(1, 10_000)]
    public int HubCallsPerSecond { get; set; } = 20;

    /// <summary>The largest message a client may send, in bytes (SignalR closes a connection that sends more).</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxReceiveMessageSize { get; set; } = 32 * 1024;
}
