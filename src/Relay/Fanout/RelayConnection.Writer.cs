using System.Buffers;
using Microsoft.AspNetCore.SignalR;

namespace Relay.Fanout;

/// <summary>
/// Writing to the connection, without a writer task of its own. Whoever queues a message while no write is in flight
/// takes the right to write (<see cref="_writing"/>) and writes at once on its own thread — the fan-out thread, as
/// SignalR's <c>DefaultHubLifetimeManager</c> does — so a delivery to an idle connection costs no thread-pool wake-up.
/// While a write is in flight, messages only queue; when the write completes, whoever made it writes what queued up
/// meanwhile (<see cref="FanoutOptions.MaxBatchSize"/> at most at a time): one write and one flush instead of one per
/// message, and for protocol-2 connections consecutive events as one <c>Events</c> frame. A write that does not complete
/// at once (a slow reader, a busy transport) is awaited on the thread pool, and the fan-out moves on.
/// Every message goes through the queue, so order, compaction, overflow and stuck detection are as before.
/// </summary>
internal sealed partial class RelayConnection
{
    // 1 while someone owns writing (an inline drain or its continuation); held from construction until Start, and for
    // ever after a failed write.
    private int _writing = 1;

    // Set once the queue is completed and everything in it written, or writing gave up.
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Until Start nothing is written, so there is nothing to wait for when closing a connection that never started.
    private bool _started;

    /// <summary>Completes when what was queued has been written (or writing gave up); at once if writing never started.</summary>
    private Task Drained => Volatile.Read(ref _started) ? _drained.Task : Task.CompletedTask;

    /// <summary>Lets queued messages be written (those queued before are written now, on the caller's thread).</summary>
    public void Start()
    {
        Volatile.Write(ref _started, true);
        if (Release())
        {
            Drain();
        }
    }

    /// <summary>Writes what is queued unless a write is already in flight (whose owner then writes it).</summary>
    private void TryDrain()
    {
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            Drain();
        }
    }

    /// <summary>Owner only: writes while writes complete at once; the first that does not is continued on the thread pool.</summary>
    private void Drain()
    {
        try
        {
            do
            {
                while (TryWriteNext(out var write))
                {
                    if (!write.IsCompletedSuccessfully)
                    {
                        _ = ContinueDrainAsync(write);
                        return;
                    }

                    write.GetAwaiter().GetResult();
                    Volatile.Write(ref _lastProgress, _timeProvider.GetTimestamp());
                }
            }
            while (Release());
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async Task ContinueDrainAsync(ValueTask write)
    {
        try
        {
            await write;
            Volatile.Write(ref _lastProgress, _timeProvider.GetTimestamp());
            do
            {
                while (TryWriteNext(out var next))
                {
                    await next;
                    Volatile.Write(ref _lastProgress, _timeProvider.GetTimestamp());
                }
            }
            while (Release());
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    /// <summary>
    /// Gives up the right to write. True when it was taken back because something was queued meanwhile (a producer that
    /// queued while this owner held it saw the write in flight and left the message to the owner).
    /// </summary>
    private bool Release()
    {
        Interlocked.Exchange(ref _writing, 0);
        if (_outbound.Count > 0)
        {
            return Interlocked.CompareExchange(ref _writing, 1, 0) == 0;
        }

        if (_outbound.Reader.Completion.IsCompleted)
        {
            _drained.TrySetResult();
        }

        return false;
    }

    /// <summary>Keeps the right to write (nothing is written to this connection again) and closes it.</summary>
    private void Fail(Exception exception)
    {
        if (exception is not OperationCanceledException || !_context.ConnectionAborted.IsCancellationRequested)
        {
            Log.WriteFailed(_logger, ConnectionId, exception);
        }

        _context.Abort();
        _drained.TrySetResult();
    }

    /// <summary>Starts writing the next message, or everything queued up to <see cref="FanoutOptions.MaxBatchSize"/>; false when nothing is queued.</summary>
    private bool TryWriteNext(out ValueTask write)
    {
        // A closed connection's queue has no reader any more: what is left is dropped.
        _context.ConnectionAborted.ThrowIfCancellationRequested();
        var reader = _outbound.Reader;
        if (!reader.TryRead(out var first))
        {
            write = default;
            return false;
        }

        if (!reader.TryRead(out var second))
        {
            // A lone message goes out at once, as it always did: batching never adds latency.
            _metrics.OutboundWritten();
            write = _context.WriteAsync(first.Message, _context.ConnectionAborted);
            return true;
        }

        // More arrived while the last write was flushing: send all of it with one write and one flush.
        // Rented per batch, so an idle connection holds no batch array.
        var batch = ArrayPool<OutboundMessage>.Shared.Rent(_maxBatch);
        batch[0] = first;
        batch[1] = second;
        var count = 2;
        while (count < _maxBatch && reader.TryRead(out var next))
        {
            batch[count++] = next;
        }

        write = WriteBatchAsync(batch, count);
        return true;
    }

    private async ValueTask WriteBatchAsync(OutboundMessage[] batch, int count)
    {
        try
        {
            await WriteFramesAsync(batch, count);
        }
        finally
        {
            ArrayPool<OutboundMessage>.Shared.Return(batch, clearArray: true);
        }
    }

    private async ValueTask WriteFramesAsync(OutboundMessage[] batch, int count)
    {
        var events = ProtocolVersion >= 2 ? EventsFrame.For(_context.Protocol) : null;
        if (!_statefulReconnect)
        {
            var buffer = Concatenate(batch.AsSpan(0, count), events);
            _metrics.OutboundBatchWritten(count);
            try
            {
                // A SerializedHubMessage made of bytes for this connection's protocol: SignalR writes them as they are,
                // and HubConnectionContext.WriteAsync flushes once per call, so the batch costs one flush (one socket send).
                await _context.WriteAsync(new SerializedHubMessage([new SerializedMessage(_context.Protocol.Name, buffer.WrittenMemory)]), _context.ConnectionAborted);
            }
            finally
            {
                buffer.Dispose();
            }

            return;
        }

        // With stateful reconnect SignalR numbers every write as one message and keeps it for replay until the client
        // acknowledges it, while the client counts frames: each frame must be its own write, and an Events frame's bytes
        // must outlive the write (no pooled buffer). Version 1 is written one by one, as before.
        for (var i = 0; i < count;)
        {
            var run = OutboundBatch.EventRun(batch.AsSpan(i, count - i), events);
            if (run < 2)
            {
                _metrics.OutboundWritten();
                await _context.WriteAsync(batch[i].Message, _context.ConnectionAborted);
                i++;
                continue;
            }

            _metrics.OutboundBatchWritten(run);
            await _context.WriteAsync(EventsMessage(batch.AsSpan(i, run), events!), _context.ConnectionAborted);
            i += run;
        }
    }

    private PooledBuffer Concatenate(ReadOnlySpan<OutboundMessage> batch, EventsFrame? events)
    {
        var buffer = new PooledBuffer(4096);
        OutboundBatch.Write(batch, _context.Protocol, events, buffer);
        return buffer;
    }

    private SerializedHubMessage EventsMessage(ReadOnlySpan<OutboundMessage> run, EventsFrame events)
    {
        using var buffer = new PooledBuffer(4096);
        events.Write(run, buffer);
        return new SerializedHubMessage([new SerializedMessage(_context.Protocol.Name, buffer.WrittenMemory.ToArray())]);
    }
}
