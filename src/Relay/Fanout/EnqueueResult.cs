namespace Relay.Fanout;

internal enum EnqueueResult
{
    /// <summary>There was room.</summary>
    Queued,

    /// <summary>The queue was full; superseded events were dropped to make room.</summary>
    Compacted,

    /// <summary>The queue was full even after compaction; its events were dropped.</summary>
    Dropped,
}
