using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Polly;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Upstream;

/// <summary>
/// A session's realtime link to PocketBase. One loop connects, posts the session's topics and watches the stream; before
/// PocketBase would close it (idle or lifetime limit) it opens the replacement, posts the same topics, and only then
/// retires the old one, so a planned rotation loses nothing and sends no <c>Resync</c>. Only an unplanned loss
/// reconnects through <see cref="UpstreamConnectPipeline"/> and tells the session to resync. Each stream's reader feeds
/// one delivery loop, which hands events to the session in order and once each. Topic changes are coalesced: however
/// many arrive while a POST is in flight, the next POST carries them all.
/// </summary>
internal sealed partial class UpstreamConnection : IUpstream
{
    private readonly IUpstreamSubscriber _subscriber;
    private readonly PocketBaseRealtimeClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly PocketBaseOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<bool> _syncRequests = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    // Bounded and waiting: a session that cannot keep up slows its stream readers (TCP pushes back on PocketBase)
    // instead of buffering without limit.
    private readonly Channel<Inbound> _inbox = Channel.CreateBounded<Inbound>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    // Serializes every subscription POST (topic syncs and a rotation's first POST) and guards _current and each
    // stream's accepted set, so PocketBase's view of the topics is never raced.
    private readonly SemaphoreSlim _postGate = new(1, 1);
    private readonly Lock _waitersGate = new();
    private readonly SyncWaiters _waiters = new();
    private StreamHandle? _current;

    // The stream the supervisor loop answers for (closes when it ends); only that loop touches it.
    private StreamHandle? _live;

    // A holder change waiting for the supervisor loop (which alone rotates), and the signal that wakes it.
    private HolderChange? _holderChange;
    private TaskCompletionSource _holderChangeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _streamIds;
    private Task _loop = Task.CompletedTask;
    private Task _sync = Task.CompletedTask;
    private Task _delivery = Task.CompletedTask;

    public UpstreamConnection(
        IUpstreamSubscriber subscriber,
        PocketBaseRealtimeClient client,
        UpstreamConnectPipeline pipeline,
        IOptions<PocketBaseOptions> options,
        TimeProvider timeProvider,
        RelayMetrics metrics,
        ILogger<UpstreamConnection> logger)
    {
        _subscriber = subscriber;
        _client = client;
        _pipeline = pipeline.Create();
        _options = options.Value;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _rotationRetryDelay = _options.ReconnectBaseDelay;
    }

    /// <summary>PocketBase's client id of the current stream, or null while not connected.</summary>
    public string? ClientId => Volatile.Read(ref _current)?.ClientId;

    public void Start()
    {
        _delivery = Task.Run(DeliverLoopAsync);
        _sync = Task.Run(SyncLoopAsync);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Schedules a POST of the session's current topic set.</summary>
    public void RequestSync() => _syncRequests.Writer.TryWrite(true);

    /// <summary>
    /// Completes once a topic set of at least <paramref name="version"/> is accepted by PocketBase on the current stream;
    /// fails with <see cref="TopicRefusedException"/> when PocketBase refused <paramref name="upstreamTopic"/> itself.
    /// </summary>
    public Task WaitForSyncAsync(long version, CancellationToken cancellationToken, string? upstreamTopic = null)
    {
        Task waiting;
        lock (_waitersGate)
        {
            waiting = _waiters.Wait(version, upstreamTopic);
        }

        if (waiting.IsCompleted)
        {
            return waiting;
        }

        RequestSync();
        return waiting.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> ChangeHolderAsync(string token, Action commit, CancellationToken cancellationToken)
    {
        var request = new HolderChange(token, commit);
        Interlocked.Exchange(ref _holderChange, request)?.Done.TrySetResult(false);
        _holderChangeRequested.TrySetResult();
        if (_stopping.IsCancellationRequested)
        {
            Withdraw(request);
        }

        try
        {
            return await request.Done.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Not started yet: withdrawn, and the caller reopens. Started: the rotation is bounded by its own timeouts.
            return Withdraw(request) ? false : await request.Done.Task;
        }
    }

    /// <summary>True when <paramref name="request"/> had not been taken up, and now never will be.</summary>
    private bool Withdraw(HolderChange request)
    {
        if (Interlocked.CompareExchange(ref _holderChange, null, request) == request)
        {
            request.Done.TrySetResult(false);
            return true;
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _syncRequests.Writer.TryComplete();
        await _loop;
        await _sync;
        _inbox.Writer.TryComplete();
        await _delivery;
        Interlocked.Exchange(ref _holderChange, null)?.Done.TrySetResult(false);
        FailWaiters(new ObjectDisposedException(nameof(UpstreamConnection)));
        _stopping.Dispose();
        _postGate.Dispose();
    }

    private async Task RunAsync()
    {
        var stopping = _stopping.Token;
        var context = ResilienceContextPool.Shared.Get(stopping);
        context.Properties.Set(UpstreamConnectPipeline.FailureCallbackKey, OnConnectFailedAsync);
        var connectedBefore = false;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    var outcome = await _pipeline.ExecuteOutcomeAsync(
                        static async (ctx, self) => Outcome.FromResult(await self.ConnectAndSubscribeAsync(ctx.CancellationToken)),
                        context,
                        this);
                    outcome.ThrowIfException();
                    var primary = _live = outcome.Result!;
                    await _inbox.Writer.WriteAsync(new Inbound(InboundKind.Reset, primary.Id), stopping);
                    if (connectedBefore)
                    {
                        _metrics.UpstreamReconnected();
                        Log.Resubscribed(_logger, _subscriber.Name, primary.ClientId);
                        await _inbox.Writer.WriteAsync(new Inbound(InboundKind.Resubscribed, primary.Id), stopping);
                    }

                    connectedBefore = true;
                    StartReader(primary);
                    await SuperviseAsync(stopping);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    // Unreachable in practice (the pipeline retries every failure), but a bug here must not end the
                    // session's stream for good.
                    Log.LoopFailed(_logger, _subscriber.Name, ex);
                    await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                finally
                {
                    await _postGate.WaitAsync(CancellationToken.None);
                    Volatile.Write(ref _current, null);
                    _postGate.Release();
                    lock (_waitersGate)
                    {
                        _waiters.Reset();
                    }

                    if (_live is { } live)
                    {
                        _live = null;
                        await CloseAsync(live);
                    }
                }
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<StreamHandle> ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        var handle = await OpenAsync(cancellationToken);
        try
        {
            await _postGate.WaitAsync(cancellationToken);
            try
            {
                await PostTopicsAsync(handle, cancellationToken);
                Volatile.Write(ref _current, handle);
            }
            finally
            {
                _postGate.Release();
            }

            Log.Connected(_logger, _subscriber.Name, handle.ClientId);
            return handle;
        }
        catch
        {
            await CloseAsync(handle);
            throw;
        }
    }

    private async Task<StreamHandle> OpenAsync(CancellationToken cancellationToken, CancellationToken giveUp = default)
    {
        var stream = await _client.OpenStreamAsync(cancellationToken, giveUp);
        _metrics.UpstreamStreamOpened();

        // Up to a tenth off the lifetime, so sessions opened together (after a deploy) do not all rotate in step.
        var lifetime = _options.RotateAfterLifetime * (1 - (Random.Shared.NextDouble() / 10));
        return new StreamHandle(Interlocked.Increment(ref _streamIds), stream, lifetime);
    }

    private async Task CloseAsync(StreamHandle handle)
    {
        handle.Stream.Abort();
        await handle.Reader;
        await handle.Stream.DisposeAsync();
        _metrics.UpstreamStreamClosed();
    }

    private ValueTask OnConnectFailedAsync(Exception exception, TimeSpan retryDelay)
    {
        Log.ConnectFailed(_logger, _subscriber.Name, retryDelay, exception);
        FailWaiters(exception);
        return default;
    }
}
