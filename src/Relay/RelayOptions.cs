using System.ComponentModel.DataAnnotations;

namespace Relay;

/// <summary>Top-level settings under <c>Relay:</c>. Feature settings live in their own sections (<c>Relay:PocketBase</c>, <c>Relay:Fanout</c>, ...).</summary>
internal sealed class RelayOptions
{
    public const string SectionName = "Relay";

    /// <summary>Connections without a token share one guest session (PocketBase allows guest subscriptions).</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>Collections that may be subscribed; empty allows every collection.</summary>
    public string[] AllowedCollections { get; set; } = [];

    [Range(1, 1000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>The longest subscription options payload accepted, as canonical JSON characters.</summary>
    [Range(0, 2000)]
    public int MaxOptionsLength { get; set; } = 1024;
}
