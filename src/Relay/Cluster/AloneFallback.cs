using Relay.PocketBase;
using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// Going alone and coming back, and the subscriptions waiting for PocketBase to hold their topics. When Redis is
/// unreachable the session gets a PocketBase stream of this instance's own, as when Relay runs alone, and the waiting
/// subscriptions move to it; once Redis is back it stays alone until the cluster confirms it holds this instance's
/// topics. Every switch is a <c>Resync</c> (events may be lost or repeated in between). Owns the mode
/// (<see cref="ModeState"/>, one immutable value replaced whole under <c>_gate</c>, read anywhere without it) and the
/// waiters, under the same lock because each switch moves them. The switches are the loop's
/// (<see cref="ClusterUpstream"/>); waiting and confirming come from any thread. The tasks that hand a waiter to the own
/// stream, or send the Resync once it holds the topics, touch the waiters under <c>_gate</c> only; they are awaited
/// when the stream stops.
/// </summary>
internal sealed class AloneFallback(ClusterUpstreamContext context, Action requestSync, CancellationToken stopping)
{
    private readonly Lock _gate = new();
    private readonly SyncWaiters _waiters = new();
    private readonly List<Task> _background = [];
    private volatile ModeState _mode = ModeState.Following;

    public ModeState Mode => _mode;

    /// <summary>Back from alone, and the cluster has confirmed this instance's topics (the loop completes the return).</summary>
    public bool ReturnConfirmed => _mode is { Kind: ClusterMode.Returning } returning && _waiters.Confirmed >= returning.ReturnVersion;

    /// <summary>
    /// Completes once PocketBase holds a topic set of at least <paramref name="version"/>: the own stream's answer while
    /// alone, the cluster's confirmation otherwise (<see cref="Complete"/>).
    /// </summary>
    public Task WaitForSyncAsync(long version, string? upstreamTopic, CancellationToken cancellationToken)
    {
        Task waiting;
        lock (_gate)
        {
            if (_mode is { Kind: ClusterMode.Alone, Alone: { } alone })
            {
                return alone.WaitForSyncAsync(version, cancellationToken, upstreamTopic);
            }

            waiting = _waiters.Wait(version, upstreamTopic);
        }

        if (waiting.IsCompleted)
        {
            return waiting;
        }

        requestSync();
        return waiting.WaitAsync(cancellationToken);
    }

    /// <summary>The session's topics changed: the own stream (alone or returning) posts them too.</summary>
    public void RequestSync()
    {
        if (_mode is { Kind: not ClusterMode.Cluster, Alone: { } alone })
        {
            alone.RequestSync();
        }
    }

    /// <summary>
    /// Redis is unreachable: run an own stream (a returning one goes on) and move the waiters to it; its connections get a
    /// <c>Resync</c> once it holds their topics. False when already alone (or stopping).
    /// </summary>
    public bool GoAlone()
    {
        if (_mode.Kind == ClusterMode.Alone || stopping.IsCancellationRequested)
        {
            return false;
        }

        ClusterLog.GoingAlone(context.Logger, context.StreamName);
        List<SyncWaiters.Waiter> pending;
        UpstreamConnection alone;
        lock (_gate)
        {
            if (_mode.Alone is { } running)
            {
                alone = running;
            }
            else
            {
                alone = context.CreateLocal(context.Subscriber);
                alone.Start();
            }

            _mode = new ModeState(ClusterMode.Alone, alone, ReturnVersion: -1);
            pending = _waiters.TakeAll();
        }

        _background.RemoveAll(static done => done.IsCompleted);
        foreach (var waiter in pending)
        {
            _background.Add(ForwardAsync(alone, waiter));
        }

        _background.Add(ResyncWhenHeldAsync(alone, context.Subscriber.GetTopics().Version));
        return true;
    }

    /// <summary>Redis is back: confirmations from before the outage say nothing about the Redis that came back (possibly empty).</summary>
    public void BeginReturn(long version)
    {
        ClusterLog.Returning(context.Logger, context.StreamName);
        lock (_gate)
        {
            _waiters.Reset();
            _mode = _mode with { Kind = ClusterMode.Returning, ReturnVersion = version };
        }
    }

    /// <summary>The cluster holds this instance's topics: drop the own stream and resync (the switch may lose or repeat events).</summary>
    public async Task CompleteReturnAsync()
    {
        UpstreamConnection? alone;
        lock (_gate)
        {
            alone = _mode.Alone;
            _mode = ModeState.Following;
        }

        if (alone is not null)
        {
            await alone.DisposeAsync();
        }

        ClusterLog.Rejoined(context.Logger, context.StreamName);
        await context.Subscriber.OnResubscribedAsync();
    }

    /// <summary>The cluster's owner confirmed <paramref name="version"/> for this incarnation.</summary>
    public void Complete(long version)
    {
        lock (_gate)
        {
            _waiters.Complete(version);
        }
    }

    /// <summary>
    /// The cluster's owner reported topics PocketBase refused, found in a topic set of this incarnation's
    /// <paramref name="version"/> (null when the entry does not say): a subscription for that version that starts waiting
    /// later fails as well.
    /// </summary>
    public void FailRefused(IReadOnlyCollection<string> refused, long? version)
    {
        lock (_gate)
        {
            _waiters.FailRefused(refused, static topic => new TopicRefusedException(
                topic,
                new UpstreamException("PocketBase refused the topic (on the instance that holds this session's stream).", System.Net.HttpStatusCode.Forbidden)), version);
        }
    }

    public void FailAll(Exception exception)
    {
        lock (_gate)
        {
            _waiters.FailAll(exception);
        }
    }

    /// <summary>Closes the own stream, if any, and waits for the tasks beside it (the loop has ended).</summary>
    public async Task StopAsync()
    {
        UpstreamConnection? alone;
        lock (_gate)
        {
            alone = _mode.Alone;
            _mode = _mode with { Alone = null };
        }

        if (alone is not null)
        {
            await alone.DisposeAsync();
        }

        await Task.WhenAll(_background);
        _background.Clear();
    }

    private async Task ForwardAsync(UpstreamConnection alone, SyncWaiters.Waiter waiter)
    {
        try
        {
            await alone.WaitForSyncAsync(waiter.Version, CancellationToken.None, waiter.Topic);
            waiter.Completion.TrySetResult();
        }
        catch (ObjectDisposedException) when (!stopping.IsCancellationRequested)
        {
            // Back in the cluster before the own stream held the topic: the cluster's confirmation completes it.
            lock (_gate)
            {
                _waiters.Add(waiter);
            }

            requestSync();
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
            await alone.WaitForSyncAsync(version, stopping);
            await context.Subscriber.OnResubscribedAsync();
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
}
