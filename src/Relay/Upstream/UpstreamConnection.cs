using System.Diagnostics;
using System.Threading.Channels;
using Polly;
using Relay.Diagnostics;

namespace Relay.Upstream;

/// <summary>
/// A session's single realtime stream from PocketBase. One loop connects, posts the session's topics, reads events in
/// order and, when the stream is lost, connects again through <see cref="UpstreamConnectPipeline"/> and tells the session
/// to resync. Topic changes are coalesced: however many arrive while a POST is in flight, the next POST carries them all.
/// </summary>
internal sealed partial class UpstreamConnection : IAsyncDisposable
{
    private readonly IUpstreamSubscriber _subscriber;
    private readonly PocketBaseRealtimeClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<bool> _syncRequests = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly Lock _waitersGate = new();
    private readonly List<(long Version, TaskCompletionSource Completion)> _waiters = [];
    private long _appliedVersion = -1;
    private Task _loop = Task.CompletedTask;

    public UpstreamConnection(
        IUpstreamSubscriber subscriber,
        PocketBaseRealtimeClient client,
        UpstreamConnectPipeline pipeline,
        RelayMetrics metrics,
        ILogger<UpstreamConnection> logger)
    {
        _subscriber = subscriber;
        _client = client;
        _pipeline = pipeline.Pipeline;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>PocketBase's client id of the current stream, or null while not connected.</summary>
    public string? ClientId { get; private set; }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Schedules a POST of the session's current topic set.</summary>
    public void RequestSync() => _syncRequests.Writer.TryWrite(true);

    /// <summary>Completes once a topic set of at least <paramref name="version"/> is accepted by PocketBase on the current stream.</summary>
    public Task WaitForSyncAsync(long version, CancellationToken cancellationToken)
    {
        TaskCompletionSource completion;
        lock (_waitersGate)
        {
            if (_appliedVersion >= version)
            {
                return Task.CompletedTask;
            }

            completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((version, completion));
        }

        RequestSync();
        return completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _syncRequests.Writer.TryComplete();
        await _loop;
        FailWaiters(new ObjectDisposedException(nameof(UpstreamConnection)));
        _stopping.Dispose();
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
                    await using var stream = outcome.Result!;
                    if (connectedBefore)
                    {
                        _metrics.UpstreamReconnected();
                        Log.Resubscribed(_logger, _subscriber.Name, stream.ClientId);
                        await _subscriber.OnResubscribedAsync();
                    }

                    connectedBefore = true;
                    await RunStreamAsync(stream, stopping);
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
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                finally
                {
                    ClientId = null;
                    lock (_waitersGate)
                    {
                        _appliedVersion = -1;
                    }
                }
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<RealtimeStream> ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        var stream = await _client.OpenStreamAsync(cancellationToken);
        try
        {
            _metrics.UpstreamStreamOpened();
            await PostTopicsAsync(stream.ClientId, cancellationToken);
            ClientId = stream.ClientId;
            Log.Connected(_logger, _subscriber.Name, stream.ClientId);
            return stream;
        }
        catch
        {
            _metrics.UpstreamStreamClosed();
            await stream.DisposeAsync();
            throw;
        }
    }

    private async Task RunStreamAsync(RealtimeStream stream, CancellationToken stopping)
    {
        using var streamEnded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var sync = SyncLoopAsync(stream, streamEnded.Token);
        try
        {
            while (await stream.MoveNextAsync())
            {
                var item = stream.Current;
                if (item.Data.IsRecordEvent)
                {
                    var record = item.Data.Record;
                    var collection = record.TryGetProperty("collectionName", out var name) ? name.GetString() : null;
                    _metrics.EventReceived(collection);

                    // One span per upstream event, covering its fan-out; free when nobody listens to the source.
                    using var activity = RelayTelemetry.Source.StartActivity("relay.event", ActivityKind.Consumer);
                    activity?.SetTag("relay.session", _subscriber.Name);
                    activity?.SetTag("relay.topic", item.EventType);
                    activity?.SetTag("relay.action", item.Data.Action);
                    activity?.SetTag("relay.collection", collection);
                    await _subscriber.OnEventAsync(new UpstreamEvent(item.EventType, item.Data.Action!, record, _metrics.GetTimestamp()));
                }
                else if (item.EventType != UpstreamMessageParser.ConnectEventType)
                {
                    Log.UnexpectedMessage(_logger, _subscriber.Name, item.EventType);
                }
            }

            if (!stopping.IsCancellationRequested)
            {
                var reason = stream.TimedOut ? "idle_timeout" : stream.Aborted ? "sync_failed" : "closed_by_server";
                _metrics.UpstreamStreamLost(reason);
                Log.StreamEnded(_logger, _subscriber.Name, reason);
            }
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested && ex is IOException or HttpRequestException or OperationCanceledException)
        {
            // Either the read failed or the sync loop gave up on this stream and cancelled it.
            _metrics.UpstreamStreamLost("error");
            Log.StreamFailed(_logger, _subscriber.Name, ex);
        }
        finally
        {
            _metrics.UpstreamStreamClosed();
            await streamEnded.CancelAsync();
            await sync;
        }
    }

    private async Task SyncLoopAsync(RealtimeStream stream, CancellationToken cancellationToken)
    {
        try
        {
            while (await _syncRequests.Reader.WaitToReadAsync(cancellationToken))
            {
                _syncRequests.Reader.TryRead(out _);
                await PostTopicsAsync(stream.ClientId, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The stream ended; the next stream posts the full set again.
        }
        catch (Exception ex)
        {
            // A POST that fails on a live stream (most often 404: PocketBase already dropped this client id) leaves the
            // stream's subscriptions unknown; start over with a fresh stream rather than guess.
            Log.SyncFailed(_logger, _subscriber.Name, ex);
            FailWaiters(ex);
            stream.Abort();
        }
    }

    private async Task PostTopicsAsync(string clientId, CancellationToken cancellationToken)
    {
        var snapshot = _subscriber.GetTopics();
        await _client.SetSubscriptionsAsync(clientId, snapshot.Topics, _subscriber.Token, cancellationToken);
        _metrics.UpstreamSubscriptionPosted();
        CompleteWaiters(snapshot.Version);
    }

    private ValueTask OnConnectFailedAsync(Exception exception, TimeSpan retryDelay)
    {
        Log.ConnectFailed(_logger, _subscriber.Name, retryDelay, exception);
        FailWaiters(exception);
        return default;
    }

    private void CompleteWaiters(long version)
    {
        lock (_waitersGate)
        {
            _appliedVersion = Math.Max(_appliedVersion, version);
            _waiters.RemoveAll(waiter =>
            {
                if (waiter.Version > version)
                {
                    return false;
                }

                waiter.Completion.TrySetResult();
                return true;
            });
        }
    }

    private void FailWaiters(Exception exception)
    {
        lock (_waitersGate)
        {
            foreach (var waiter in _waiters)
            {
                waiter.Completion.TrySetException(exception);
            }

            _waiters.Clear();
        }
    }
}
