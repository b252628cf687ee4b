using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Sessions;

namespace Relay.Fanout;

/// <summary>
/// One SignalR connection. Events are queued in a bounded channel and written by the connection's own loop, so a slow
/// reader never holds up the fan-out to anyone else. When the queue overflows, its backlog is dropped and replaced by a
/// single <c>Resync</c>: the client refetches instead of Relay buffering without bound.
/// </summary>
internal sealed partial class RelayConnection : IEventRecipient
{
    private readonly HubConnectionContext _context;
    private readonly Channel<SerializedHubMessage> _outbound;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private Task _writer = Task.CompletedTask;

    public RelayConnection(HubConnectionContext context, int queueCapacity, int callsPerSecond, RelayMetrics metrics, ILogger logger)
    {
        CallLimiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = callsPerSecond,
            TokensPerPeriod = callsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        _context = context;
        _metrics = metrics;
        _logger = logger;
        _outbound = Channel.CreateBounded<SerializedHubMessage>(new BoundedChannelOptions(queueCapacity)
        {
            // TryWrite on a full channel fails instead of waiting; Enqueue turns that into a resync.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    public string ConnectionId => _context.ConnectionId;

    /// <summary>Bounds this connection's hub calls; a flood from one client never costs the others.</summary>
    public RateLimiter CallLimiter { get; }

    /// <summary>The session this connection belongs to; set once when the connection is attached.</summary>
    public UserSession Session { get; set; } = null!;

    /// <summary>The connection's subscriptions, bare topic to upstream topic. Guarded by the session's lock.</summary>
    public Dictionary<string, string> Subscriptions { get; } = new(StringComparer.Ordinal);

    public void Start() => _writer = Task.Run(WriteLoopAsync);

    /// <summary>
    /// Cuts the connection's transport the way a network failure would (no close message), so the client reconnects.
    /// A plain <see cref="HubConnectionContext.Abort"/> sends a close message that tells clients not to.
    /// </summary>
    public void AbortTransport() => (_context.GetHttpContext() ?? throw new InvalidOperationException("No HTTP context.")).Abort();

    public void Enqueue(SerializedHubMessage message)
    {
        if (_outbound.Writer.TryWrite(message))
        {
            return;
        }

        // Only the session's stream reader enqueues to a connection, so nothing refills the queue while it is drained.
        while (_outbound.Reader.TryRead(out _))
        {
        }

        _metrics.OutboundOverflow();
        var topics = Session.GetTopicsOf(this);
        Log.Overflowed(_logger, ConnectionId, topics.Count);
        _outbound.Writer.TryWrite(CreateResync(topics, ResyncReasons.Overflow));
    }

    public static SerializedHubMessage CreateResync(IReadOnlyList<string> topics, string reason)
        => new(new InvocationMessage(nameof(IRelayClient.Resync), [new ResyncSignal { Topics = topics, Reason = reason }]));

    /// <summary>Sends what is queued (plus <paramref name="last"/>), then closes the connection, telling the client not to reconnect.</summary>
    public async Task CloseAfterFlushAsync(SerializedHubMessage last)
    {
        _outbound.Writer.TryWrite(last);
        _outbound.Writer.TryComplete();
        await _writer.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _context.Abort();
    }

    /// <summary>Sends <paramref name="close"/> ahead of anything queued and closes the connection.</summary>
    public async Task CloseAsync(CloseMessage close)
    {
        _outbound.Writer.TryComplete();
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
        _outbound.Writer.TryComplete();
        await _writer;
        CallLimiter.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_context.ConnectionAborted))
            {
                while (reader.TryRead(out var message))
                {
                    await _context.WriteAsync(message, _context.ConnectionAborted);
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

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Warning, "Connection {ConnectionId} read too slowly; its queued events were dropped and a resync of {TopicCount} topics sent.")]
        public static partial void Overflowed(ILogger logger, string connectionId, int topicCount);

        [LoggerMessage(2002, LogLevel.Warning, "Writing to connection {ConnectionId} failed; closing it.")]
        public static partial void WriteFailed(ILogger logger, string connectionId, Exception exception);
    }
}
