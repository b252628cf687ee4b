using System.ComponentModel.DataAnnotations;

namespace Relay.Fanout;

/// <summary>Settings under <c>Relay:Fanout</c>.</summary>
internal sealed class FanoutOptions
{
    public const string SectionName = "Relay:Fanout";

    /// <summary>The most connections one dispatch work item sends to; larger recipient lists are split and dispatched concurrently.</summary>
    [Range(1, 100_000)]
    public int ChunkSize { get; set; } = 300;

    /// <summary>The most messages queued for one connection before it counts as too slow.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;
}
