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

    /// <summary>
    /// The most queued messages one connection's writer sends with a single write and flush. Only what queued up while
    /// the previous write was in flight is batched; a lone message is sent at once.
    /// </summary>
    [Range(2, 10_000)]
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>
    /// A connection whose queue is full and that has written nothing for this long is taken as dead (a paused tab, a
    /// half-open socket) and closed, so it stops costing memory.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StuckTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
