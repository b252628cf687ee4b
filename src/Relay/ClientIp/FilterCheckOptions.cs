using System.ComponentModel.DataAnnotations;

namespace Relay.ClientIp;

/// <summary>
/// Settings under <c>Relay:FilterChecks</c>. A subscription with a <c>filter</c> option on a topic no one holds yet costs
/// PocketBase a list request (the filter is checked before it is subscribed); these bound how many one client address
/// may cause, and how many are in flight at once for everyone.
/// </summary>
internal sealed class FilterCheckOptions
{
    public const string SectionName = "Relay:FilterChecks";

    /// <summary>Filter checks one client address (IPv6: one /64) may cause per minute (a burst of this many, then evenly spread); more get <c>rate_limited</c>.</summary>
    [Range(1, 100_000)]
    public int PerIpPerMinute { get; set; } = 120;

    /// <summary>Filter checks in flight to PocketBase at once, all clients together.</summary>
    [Range(1, 1024)]
    public int MaxConcurrent { get; set; } = 8;

    /// <summary>Filter checks waiting for a slot; beyond it (or past <c>Relay:PocketBase:SubscribeTimeout</c>) the entry gets <c>upstream_unavailable</c>.</summary>
    [Range(0, 100_000)]
    public int QueueLimit { get; set; } = 256;
}
