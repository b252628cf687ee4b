using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

internal sealed partial class ClusterUpstream
{
    /// <summary>
    /// Redis is unreachable: the session gets a PocketBase stream of this instance's own, as when Relay runs alone, and
    /// its connections a <c>Resync</c> once that stream holds their topics (events may have been lost in between).
    /// </summary>
    private async Task GoAloneAsync()
    {
        if (_state.Kind == Mode.Alone || _stopping.IsCancellationRequested)
        {
            return;
        }

        Log.GoingAlone(_logger, StreamName);

        // Closed in the background: the own stream must not wait for the owner's to drain its backlog.
        _ = StopOwningAsync();
        _ = StopSuccessorAsync();
        List<SyncWaiters.Waiter> pending;
        UpstreamConnection alone;
        lock (_waitersGate)
        {
            // Returning still runs its own stream: it goes on.
            if (_state.Alone is { } running)
            {
                alone = running;
            }
            else
            {
                alone = _createLocal(_subscriber);
                alone.Start();
            }

            _state = new ModeState(Mode.Alone, alone, ReturnVersion: -1);
            pending = _waiters.TakeAll();
        }

        // The subscriptions waiting on the cluster now wait on this instance's own stream.
        foreach (var waiter in pending)
        {
            _ = ForwardAsync(alone, waiter);
        }

        _ = ResyncWhenHeldAsync(alone, _subscriber.GetTopics().Version);
    }

    private async Task ForwardAsync(UpstreamConnection alone, SyncWaiters.Waiter waiter)
    {
        try
        {
            await alone.WaitForSyncAsync(waiter.Version, CancellationToken.None, waiter.Topic);
            waiter.Completion.TrySetResult();
        }
        catch (ObjectDisposedException) when (!_stopping.IsCancellationRequested)
        {
            // Back in the cluster before the own stream held the topic: the cluster's confirmation completes it.
            lock (_waitersGate)
            {
                _waiters.Add(waiter);
            }

            RequestSync();
        }
        catch (Exception ex)
        {
            waiter.Completion.TrySetException(ex);
        }
    }

    private async Task ResyncWhenHeldAsync(UpstreamConnection alone, long version)
    {
        try
        {
            await alone.WaitForSyncAsync(version, _stopping.Token);
            await _subscriber.OnResubscribedAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Disposed (the session closed, or Redis came back first and the cluster's stream took over with its Resync).
        }
        catch (Exception)
        {
            // PocketBase unreachable: the stream's own reconnect sends the Resync when it succeeds.
        }
    }

    /// <summary>Redis is back: publish the topics again and keep the own stream until the cluster confirms it holds them.</summary>
    private void BeginReturn()
    {
        Log.Returning(_logger, StreamName);
        lock (_startGate)
        {
            _position = RedisValue.Null;
        }

        var version = _subscriber.GetTopics().Version;
        Volatile.Write(ref _topicsDirty, true);
        lock (_waitersGate)
        {
            // Confirmations from before the outage say nothing about the Redis that came back (possibly empty).
            _waiters.Reset();
            _state = _state with { Kind = Mode.Returning, ReturnVersion = version };
        }
    }

    /// <summary>The cluster holds this instance's topics: drop the own stream and resync (the switch may lose or repeat events).</summary>
    private async Task CompleteReturnAsync()
    {
        UpstreamConnection? alone;
        lock (_waitersGate)
        {
            alone = _state.Alone;
            _state = ModeState.Following;
        }

        if (alone is not null)
        {
            await alone.DisposeAsync();
        }

        Log.Rejoined(_logger, StreamName);
        await _subscriber.OnResubscribedAsync();
    }
}
