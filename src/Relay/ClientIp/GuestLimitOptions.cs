using System.ComponentModel.DataAnnotations;

namespace Relay.ClientIp;

/// <summary>
/// Settings under <c>Relay:GuestLimits</c>. Guests share one session and its PocketBase topic budget, so what one client
/// address may take of it is bounded; authenticated users are bounded per user instead (<c>Relay:MaxConnectionsPerUser</c>).
/// </summary>
internal sealed class GuestLimitOptions
{
    public const string SectionName = "Relay:GuestLimits";

    /// <summary>The most simultaneous connections without a token from one client address (IPv6: one /64).</summary>
    [Range(1, 1_000_000)]
    public int MaxConnectionsPerIp { get; set; } = 100;

    /// <summary>
    /// Topics one client address may add to the guest session per minute (a burst of this many, then evenly spread).
    /// Only topics no guest holds yet count: joining a topic other guests already hold is free.
    /// </summary>
    [Range(1, 100_000)]
    public int NewTopicsPerIpPerMinute { get; set; } = 60;
}
