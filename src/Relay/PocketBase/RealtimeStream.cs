using System.Net.ServerSentEvents;

namespace Relay.PocketBase;

/// <summary>
/// One open <c>GET /api/realtime</c> stream whose <c>PB_CONNECT</c> has been read. Reading is cancelled when the stream
/// stays silent for longer than the idle timeout, so a half-open TCP connection cannot hold a session forever.
/// </summary>
internal sealed class RealtimeStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<UpstreamMessage>> _items;
    private readonly CancellationTokenSource _readCancellation;
    private readonly CancellationTokenRegistration _stoppingRegistration;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _timeProvider;
    private long _lastMessageAt;

    public RealtimeStream(
        string clientId,
        HttpResponseMessage response,
        IAsyncEnumerator<SseItem<UpstreamMessage>> items,
        CancellationTokenSource readCancellation,
        CancellationTokenRegistration stoppingRegistration,
        TimeSpan idleTimeout,
        TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        OpenedAt = _lastMessageAt = timeProvider.GetTimestamp();
        ClientId = clientId;
        _response = response;
        _items = items;
        _readCancellation = readCancellation;
        _stoppingRegistration = stoppingRegistration;
        _idleTimeout = idleTimeout;
    }

    /// <summary>PocketBase's id for this stream, used when posting subscriptions.</summary>
    public string ClientId { get; }

    public SseItem<UpstreamMessage> Current => _items.Current;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when <c>PB_CONNECT</c> was read.</summary>
    public long OpenedAt { get; }

    /// <summary>
    /// <see cref="TimeProvider.GetTimestamp"/> of the last message read. PocketBase's idle limit runs from the last message
    /// it sent on the stream (a subscription POST does not reset it), so rotation is scheduled from here.
    /// </summary>
    public long LastMessageAt => Volatile.Read(ref _lastMessageAt);

    /// <summary>True when reading stopped because the stream was idle for longer than the idle timeout.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>True when reading stopped because <see cref="Abort"/> was called.</summary>
    public bool Aborted { get; private set; }

    /// <summary>Ends reading: the next <see cref="MoveNextAsync"/> returns false.</summary>
    public void Abort()
    {
        Aborted = true;
        _readCancellation.Cancel();
    }

    /// <summary>Reads the next message; false when PocketBase closed the stream.</summary>
    public async ValueTask<bool> MoveNextAsync()
    {
        _readCancellation.CancelAfter(_idleTimeout);
        try
        {
            if (!await _items.MoveNextAsync())
            {
                return false;
            }

            Volatile.Write(ref _lastMessageAt, _timeProvider.GetTimestamp());
            return true;
        }
        catch (OperationCanceledException) when (_readCancellation.IsCancellationRequested && !_stoppingRegistration.Token.IsCancellationRequested)
        {
            TimedOut = !Aborted;
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stoppingRegistration.DisposeAsync();
        _readCancellation.Cancel();
        try
        {
            await _items.DisposeAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            // The stream is being torn down; a read error now carries no information.
        }

        _response.Dispose();
        _readCancellation.Dispose();
    }
}
