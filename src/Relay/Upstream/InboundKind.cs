namespace Relay.Upstream;

internal enum InboundKind
{
    /// <summary>A record event read from stream <see cref="Inbound.StreamId"/>.</summary>
    Event,

    /// <summary>A fresh stream after a loss; forget any rotation in progress.</summary>
    Reset,

    /// <summary>After a loss: tell the session (in order, after every event of the lost stream).</summary>
    Resubscribed,

    /// <summary>A rotation starts: remember what the primary stream delivers.</summary>
    BeginRotation,

    /// <summary>The replacement stream's subscriptions are accepted; hold its events.</summary>
    AddSuccessor,

    /// <summary>The replacement failed; the old stream stays.</summary>
    AbandonRotation,

    /// <summary>The old stream is retired; release the successor's held events.</summary>
    CompleteRotation,
}
