namespace Relay.Fanout;

/// <summary>One connection as the fan-out sees it: a queue that accepts a message without waiting.</summary>
internal interface IEventRecipient
{
    /// <summary>Queues <paramref name="message"/>; never blocks. A full queue is the recipient's problem (it compacts or resyncs), not the sender's.</summary>
    void Enqueue(OutboundMessage message);
}
