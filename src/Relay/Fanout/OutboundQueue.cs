using System.Threading.Channels;

namespace Relay.Fanout;

/// <summary>
/// One connection's bounded queue of outgoing messages, written by its session's stream readers (one per upstream
/// stream the connection's topics live on) and read by whoever holds the connection's right to write. When full it first compacts semantically — only the latest event per
/// record is kept, which is all a cache needs — and only if that does not free enough room does it give up on the
/// backlog: everything is dropped and the caller sends one <c>Resync</c> instead.
/// </summary>
internal sealed class OutboundQueue
{
    private readonly Channel<OutboundMessage> _channel;
    private readonly int _capacity;

    // Several producers write to one queue (a guest connection's topics are spread over several streams, each with its
    // own delivery loop; Resyncs and closes come from other threads): the drain-and-rebuild of a full queue must not
    // interleave with another producer's write, or messages are reordered or lost.
    private readonly Lock _producers = new();

    public OutboundQueue(int capacity)
    {
        _capacity = capacity;
        _channel = Channel.CreateBounded<OutboundMessage>(new BoundedChannelOptions(capacity)
        {
            // TryWrite on a full channel fails instead of waiting: the producer must never block on one slow reader.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false, // read by whoever holds the connection's right to write (one at a time), and by compaction
            SingleWriter = false,
        });
    }

    public ChannelReader<OutboundMessage> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;

    /// <summary>Queues <paramref name="message"/>, compacting or dropping the backlog when the queue is full.</summary>
    public EnqueueResult Enqueue(OutboundMessage message)
    {
        lock (_producers)
        {
            return EnqueueLocked(message);
        }
    }

    private EnqueueResult EnqueueLocked(OutboundMessage message)
    {
        if (_channel.Writer.TryWrite(message))
        {
            return EnqueueResult.Queued;
        }

        // Producers hold the lock, so nothing refills the queue while it is drained and rebuilt. The writer loop may
        // still take messages meanwhile; it only ever takes the oldest, so the order is kept.
        var backlog = new List<OutboundMessage>(_capacity + 1);
        while (_channel.Reader.TryRead(out var queued))
        {
            backlog.Add(queued);
        }

        backlog.Add(message);
        var compacted = Compact(backlog);
        if (compacted.Count <= _capacity / 2)
        {
            foreach (var kept in compacted)
            {
                _channel.Writer.TryWrite(kept);
            }

            return EnqueueResult.Compacted;
        }

        // Still too much: keep only the control messages (a pending AuthExpired must not be lost); the caller adds a Resync.
        foreach (var control in compacted.Where(static m => m.Key is null))
        {
            _channel.Writer.TryWrite(control);
        }

        return EnqueueResult.Dropped;
    }

    /// <summary>
    /// Queues a control message; if even that does not fit, the queued events are dropped to make room (queued control
    /// messages are kept).
    /// </summary>
    /// <returns>True when events were dropped: the caller owes the connection a <c>Resync</c> of all its topics.</returns>
    public bool EnqueueControl(OutboundMessage message)
    {
        lock (_producers)
        {
            if (_channel.Writer.TryWrite(message))
            {
                return false;
            }

            var controls = new List<OutboundMessage>();
            while (_channel.Reader.TryRead(out var queued))
            {
                if (queued.Key is null)
                {
                    controls.Add(queued);
                }
            }

            foreach (var control in controls)
            {
                _channel.Writer.TryWrite(control);
            }

            _channel.Writer.TryWrite(message);
            return true;
        }
    }

    public bool TryComplete() => _channel.Writer.TryComplete();

    /// <summary>Keeps the last event per key, each at the position of its last occurrence, and every control message.</summary>
    internal static List<OutboundMessage> Compact(List<OutboundMessage> backlog)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<OutboundMessage>(backlog.Count);
        for (var i = backlog.Count - 1; i >= 0; i--)
        {
            var message = backlog[i];
            if (message.Key is null || seen.Add(message.Key))
            {
                kept.Add(message);
            }
        }

        kept.Reverse();
        return kept;
    }
}
