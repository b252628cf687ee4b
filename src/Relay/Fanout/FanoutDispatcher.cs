using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Diagnostics;

namespace Relay.Fanout;

/// <summary>
/// Sends one serialized message to many connections. Recipients are split into chunks of at most
/// <see cref="FanoutOptions.ChunkSize"/>; chunks beyond the first run on the thread pool concurrently. The call completes
/// when every recipient has the message queued, so the next event of the same session is queued after it on every
/// connection: per-connection order follows PocketBase's order without any per-connection lock.
/// </summary>
internal sealed class FanoutDispatcher(IOptions<FanoutOptions> options, RelayMetrics metrics, CommitLagRecorder? commitLag = null)
{
    private readonly int _chunkSize = options.Value.ChunkSize;

    /// <summary>
    /// Queues <paramref name="message"/> for every recipient. <paramref name="relayEvent"/>, the event it carries, feeds
    /// <c>relay.shared.commit_lag</c> (<see cref="CommitLagRecorder"/>): observed here, once per event, where it enters the fan-out.
    /// </summary>
    public ValueTask DispatchAsync(IReadOnlyList<IEventRecipient> recipients, OutboundMessage message, long receivedTimestamp, string? collection = null, RelayEvent? relayEvent = null)
    {
        if (recipients.Count == 0)
        {
            return default;
        }

        if (relayEvent is not null)
        {
            commitLag?.Observe(relayEvent, collection);
        }

        var started = metrics.GetTimestamp();
        if (recipients.Count <= _chunkSize)
        {
            // The common case (a user's few tabs) stays synchronous: no task, no allocation beyond the message.
            EnqueueChunk(recipients, 0, recipients.Count, message);
            metrics.EventsDelivered(recipients.Count, receivedTimestamp, started, collection);
            return default;
        }

        return DispatchChunksAsync(recipients, message, receivedTimestamp, started, collection);
    }

    private async ValueTask DispatchChunksAsync(IReadOnlyList<IEventRecipient> recipients, OutboundMessage message, long receivedTimestamp, long started, string? collection)
    {
        var chunkCount = (recipients.Count + _chunkSize - 1) / _chunkSize;
        var others = new Task[chunkCount - 1];
        for (var chunk = 1; chunk < chunkCount; chunk++)
        {
            var start = chunk * _chunkSize;
            var end = Math.Min(start + _chunkSize, recipients.Count);
            others[chunk - 1] = Task.Run(() => EnqueueChunk(recipients, start, end, message));
        }

        EnqueueChunk(recipients, 0, _chunkSize, message);
        await Task.WhenAll(others);
        metrics.EventsDelivered(recipients.Count, receivedTimestamp, started, collection);
    }

    private void EnqueueChunk(IReadOnlyList<IEventRecipient> recipients, int start, int end, OutboundMessage message)
    {
        for (var i = start; i < end; i++)
        {
            recipients[i].Enqueue(message);
        }

        metrics.FanoutChunk(end - start);
    }
}
