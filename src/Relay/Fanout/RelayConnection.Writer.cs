using System.Buffers;
using Microsoft.AspNetCore.SignalR;

namespace Relay.Fanout;

/// <summary>
/// The connection's writer loop. A lone message is written at once; what queued up while the previous write was in
/// flight is written together (<see cref="FanoutOptions.MaxBatchSize"/> at most): one write and one flush instead of one
/// per message, and for protocol-2 connections consecutive events as one <c>Events</c> frame.
/// </summary>
internal sealed partial class RelayConnection
{
    private async Task WriteLoopAsync()
    {
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_context.ConnectionAborted))
            {
                while (reader.TryRead(out var first))
                {
                    if (!reader.TryRead(out var second))
                    {
                        // A lone message goes out at once, as it always did: batching never adds latency.
                        await _context.WriteAsync(first.Message, _context.ConnectionAborted);
                    }
                    else
                    {
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

                        try
                        {
                            await WriteBatchAsync(batch, count);
                        }
                        finally
                        {
                            ArrayPool<OutboundMessage>.Shared.Return(batch, clearArray: true);
                        }
                    }

                    Volatile.Write(ref _lastProgress, _timeProvider.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException) when (_context.ConnectionAborted.IsCancellationRequested)
        {
            // The connection closed; what was queued for it has no reader any more.
        }
        catch (Exception ex)
        {
            Log.WriteFailed(_logger, ConnectionId, ex);
            _context.Abort();
        }
    }

    private async ValueTask WriteBatchAsync(OutboundMessage[] batch, int count)
    {
        var events = ProtocolVersion >= 2 ? EventsFrame.For(_context.Protocol) : null;
        if (!_statefulReconnect)
        {
            var buffer = Concatenate(batch.AsSpan(0, count), events);
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
                await _context.WriteAsync(batch[i].Message, _context.ConnectionAborted);
                i++;
                continue;
            }

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
