using Microsoft.AspNetCore.Connections.Abstractions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Diagnostics;

namespace Relay.Fanout;

/// <summary>
/// One SignalR connection. Events are queued in a bounded channel; a connection with no write in flight is written to at
/// once by whoever queued (see the writer partial), one with a write in flight is written to when that write completes,
/// so a slow reader never holds up the fan-out to anyone else. When the queue overflows, its backlog is dropped and replaced by a
/// single <c>Resync</c>: the client refetches instead of Relay buffering without bound.
/// </summary>
internal sealed partial class RelayConnection : IEventRecipient
{
    private readonly HubConnectionContext _context;
    private readonly OutboundQueue _outbound;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _stuckTimeout;
    private long _lastProgress;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly bool _statefulReconnect;

    public RelayConnection(HubConnectionContext context, FanoutOptions fanout, int callsPerSecond, TimeProvider timeProvider, RelayMetrics metrics, ILogger logger)
    {
        _timeProvider = timeProvider;
        _stuckTimeout = fanout.StuckTimeout;
        _lastProgress = timeProvider.GetTimestamp();
        CallLimiter = new CallRateLimiter(callsPerSecond, timeProvider);
        _maxBatch = fanout.MaxBatchSize;
        // Present when the client asked for stateful reconnect (even if its handshake then turned it down: erring on the
        // side of one write per frame is only slower, never wrong).
#pragma warning disable CA2252 // Only tested for presence; SignalR's own HubConnectionContext reads it the same way.
        _statefulReconnect = context.Features.Get<IStatefulReconnectFeature>() is not null;
#pragma warning restore CA2252
        _context = context;
        _metrics = metrics;
        _logger = logger;
        _outbound = new OutboundQueue(fanout.QueueCapacity);
    }

    public string ConnectionId => _context.ConnectionId;

    /// <summary>The hub protocol version the client declared with <see cref="RelayProtocol.VersionParameter"/> (1 when it did not).</summary>
    public int ProtocolVersion { get; init; } = 1;

    /// <summary>Bounds this connection's hub calls; a flood from one client never costs the others.</summary>
    public CallRateLimiter CallLimiter { get; }

    /// <summary>What the connection belongs to (its user's session); set once when the connection is attached.</summary>
    public IConnectionOwner Owner { get; set; } = null!;

    /// <summary>
    /// Cuts the connection's transport the way a network failure would (no close message), so the client reconnects.
    /// A plain <see cref="HubConnectionContext.Abort"/> sends a close message that tells clients not to.
    /// </summary>
    public void AbortTransport() => (_context.GetHttpContext() ?? throw new InvalidOperationException("No HTTP context.")).Abort();

    public void Enqueue(OutboundMessage message)
    {
        var result = _outbound.Enqueue(message);
        if (result == EnqueueResult.Queued)
        {
            TryDrain();
            return;
        }

        if (IsStuck())
        {
            // Not a slow reader but a dead one (paused tab, half-open socket): stop spending memory and time on it.
            _metrics.OutboundAborted();
            Log.Stuck(_logger, ConnectionId, _stuckTimeout);
            _context.Abort();
            return;
        }

        if (result == EnqueueResult.Compacted)
        {
            _metrics.OutboundCompacted();
            TryDrain();
            return;
        }

        _metrics.OutboundOverflow();
        var topics = Owner.GetTopicsOf(this);
        Log.Overflowed(_logger, ConnectionId, topics.Count);
        _outbound.EnqueueControl(OutboundMessage.Control(CreateResync(topics, ResyncReasons.Overflow)));
        TryDrain();
    }

    /// <summary>Queues a control message (never compacted away).</summary>
    public void EnqueueControl(SerializedHubMessage message)
    {
        if (_outbound.EnqueueControl(OutboundMessage.Control(message)))
        {
            // Making room dropped events of every topic, not only those the message (a shard's Resync) is about.
            _metrics.OutboundOverflow();
            var topics = Owner.GetTopicsOf(this);
            Log.Overflowed(_logger, ConnectionId, topics.Count);
            _outbound.EnqueueControl(OutboundMessage.Control(CreateResync(topics, ResyncReasons.Overflow)));
        }

        TryDrain();
    }

    /// <summary>Messages waiting to be written (for tests and diagnostics).</summary>
    public int QueuedCount => _outbound.Count;

    /// <summary>Takes the next queued message without writing it (tests: a connection that was never started).</summary>
    internal bool TryTakeQueued(out OutboundMessage message) => _outbound.Reader.TryRead(out message);

    public static SerializedHubMessage CreateResync(IReadOnlyList<string> topics, string reason)
        => new(new InvocationMessage(nameof(IRelayClient.Resync), [new ResyncSignal { Topics = topics, Reason = reason }]));

    /// <summary>Sends what is queued (plus <paramref name="last"/>), then closes the connection, telling the client not to reconnect.</summary>
    public async Task CloseAfterFlushAsync(SerializedHubMessage last)
    {
        _outbound.EnqueueControl(OutboundMessage.Control(last));
        _outbound.TryComplete();
        TryDrain();
        await Drained.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _context.Abort();
    }

    /// <summary>Sends <paramref name="close"/> ahead of anything queued and closes the connection.</summary>
    public async Task CloseAsync(CloseMessage close)
    {
        _outbound.TryComplete();
        try
        {
            await _context.WriteAsync(close, _context.ConnectionAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Already gone.
        }

        _context.Abort();
    }

    /// <summary>Stops writing; queued messages for a closed connection are dropped.</summary>
    public async Task CompleteAsync()
    {
        _outbound.TryComplete();
        TryDrain();
        await Drained;
    }

    /// <summary>Stuck: something is queued and nothing has been written for longer than the stuck timeout.</summary>
    private bool IsStuck() => _timeProvider.GetElapsedTime(Volatile.Read(ref _lastProgress)) > _stuckTimeout;

    private static partial class Log
    {
        [LoggerMessage(2003, LogLevel.Warning, "Connection {ConnectionId} wrote nothing for {StuckTimeout} with a full queue; closing it.")]
        public static partial void Stuck(ILogger logger, string connectionId, TimeSpan stuckTimeout);

        [LoggerMessage(2001, LogLevel.Warning, "Connection {ConnectionId} read too slowly; its queued events were dropped and a resync of {TopicCount} topics sent.")]
        public static partial void Overflowed(ILogger logger, string connectionId, int topicCount);

        [LoggerMessage(2002, LogLevel.Warning, "Writing to connection {ConnectionId} failed; closing it.")]
        public static partial void WriteFailed(ILogger logger, string connectionId, Exception exception);
    }
}
