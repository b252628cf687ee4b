using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

internal sealed partial class ClusterUpstream
{
    // The loop's own: written and read by RunAsync and what it calls, nowhere else.
    private readonly List<ClusterCommand> _commands = [];
    private bool _topicsDirty = true;
    private long _nextHeartbeat;
    private long _nextLease;
    private long _nextPoll;
    private IAsyncDisposable? _notifications;

    // Reading moved to a new Stream (the old one's keys were deleted): the connections are owed a Resync once the
    // Stream's owner confirms this incarnation's topics of at least this version, i.e. once a PocketBase stream holds them.
    private long? _resyncOwedFrom;

    private async Task RunAsync()
    {
        var stopping = _stopping.Token;
        var notified = true;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await PassAsync(notified, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                ClusterLog.RedisFailed(_logger, StreamName, ex.GetType().Name);
                GoAlone();
            }
            catch (ObjectDisposedException) when (_node.Stopping)
            {
                // The host disposes the Redis connection once ClusterNode.StopAsync has handed the streams over, before
                // the sessions (and this loop) are disposed: the instance is ending, and so does the loop. Caught as a
                // failure below, it logged an Error at every pass until the process exited.
                break;
            }
            catch (Exception ex)
            {
                // A bug here must not end the session's stream for good.
                ClusterLog.LoopFailed(_logger, StreamName, ex);
            }

            try
            {
                // Nothing signalled within RenewInterval: the pass still renews leases, and reads the Stream once per
                // LeaseTime in case a notification was lost.
                var wait = _succession.LetGoDueIn is { } letGo && letGo < _options.RenewInterval ? letGo : _options.RenewInterval;
                notified = await _inbox.WaitAsync(wait, _timeProvider, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>One pass of the loop: the inbox, then the tick; <paramref name="notified"/>: woken by the inbox rather than by the timer.</summary>
    private async Task PassAsync(bool notified, CancellationToken stopping)
    {
        _commands.Clear();
        var signals = _inbox.TakeAll(_commands);
        if (signals.HasFlag(ClusterSignals.HandoverStarting))
        {
            _nextLease = 0;
        }

        if ((signals & (ClusterSignals.TopicsChanged | ClusterSignals.TopicsDirty)) != 0)
        {
            _keeper.MarkUnionDue();
        }

        if (signals.HasFlag(ClusterSignals.TopicsDirty))
        {
            _topicsDirty = true;
        }

        for (var i = 0; i < _commands.Count; i++)
        {
            try
            {
                await HandleAsync(_commands[i], stopping);
            }
            catch
            {
                // Redis failed: the handovers asked for after this command are given up now, not at their timeout.
                foreach (var rest in _commands.Skip(i + 1))
                {
                    rest.Done?.TrySetResult();
                }

                throw;
            }
        }

        await TickAsync(notified, stopping);
    }

    private async Task HandleAsync(ClusterCommand command, CancellationToken stopping)
    {
        switch (command.Kind)
        {
            case ClusterCommandKind.ConfirmFailed:
                _keeper.ForgetConfirmation(command.Versions!);
                break;
            case ClusterCommandKind.HandOver when _node.IsConnected:
                await _succession.BeginHandoverAsync(command.Done!, stopping);
                break;
            case ClusterCommandKind.HandOver:
                command.Done!.TrySetResult();
                break;
        }
    }

    private async Task TickAsync(bool notified, CancellationToken stopping)
    {
        if (_node.Halted)
        {
            return;
        }

        if (!_node.IsConnected)
        {
            GoAlone();
            return;
        }

        var store = _context.Store;
        if (_fallback.Mode.Kind == ClusterMode.Alone)
        {
            BeginReturn();
        }

        var started = _follower.IsStarted;
        if (_notifications is null)
        {
            // Before reading starts: an entry appended after the subscription is notified, one before it is read.
            _notifications = await store.SubscribeAsync(_context.Keys, Notify).WaitAsync(stopping);
            notified = true;
        }

        if (!started && await _follower.StartFromEndAsync(stopping))
        {
            // A replay positioned reading on a Stream replaced since (after this pass looked): as in PublishTopicsAsync.
            OnStreamReplaced();
        }

        var now = _timeProvider.GetTimestamp();
        if (_topicsDirty || now >= _nextHeartbeat)
        {
            await PublishTopicsAsync(stopping);
        }

        // Read when told to (every append is notified on the session's channel), and otherwise only as a safety net for a
        // notification lost (Redis reconnecting): one XREAD per stream per LeaseTime rather than per RenewInterval.
        if (notified || !started || now >= _nextPoll)
        {
            _nextPoll = now + Ticks(_options.LeaseTime);
            await _follower.ReadAsync(ApplyAsync, stopping);
        }

        if (now >= _nextLease)
        {
            _nextLease = now + Ticks(_options.RenewInterval);
            await LeaseTickAsync(stopping);
        }

        await _keeper.RefreshIfDueAsync(stopping);
        await _succession.LetGoIfDueAsync();
        if (_fallback.ReturnConfirmed)
        {
            await _fallback.CompleteReturnAsync();
        }
    }

    /// <summary>Renews the lease it holds, or takes a free one (or a successor's place when the owner is handing over).</summary>
    private async Task LeaseTickAsync(CancellationToken stopping)
    {
        _keeper.MarkUnionDue();
        await _succession.WithdrawIfOwedAsync();
        if (_keeper.Owns)
        {
            await _keeper.RenewAsync(stopping);
            return;
        }

        if (_succession.IsSucceeding)
        {
            if (!_node.Stopping && await _succession.GiveUpIfOwnerGoneAsync(stopping))
            {
                // Not through TryStartAsync: the gone owner's handover key stays until it expires.
                await _keeper.TryTakeAsync(stopping, ownerGone: true);
                return;
            }

            await _succession.CheckDeadlineAsync(withdraw: _node.Stopping);
            return;
        }

        // Returning instances take leases too: after Redis restarts empty every instance is returning, and one of them
        // must own the stream before any can be confirmed.
        if (_node.Stopping || _fallback.Mode.Kind == ClusterMode.Alone || await _succession.TryStartAsync(stopping))
        {
            return;
        }

        await _keeper.TryTakeAsync(stopping);
    }

    /// <summary>One entry of the Stream, in order; <paramref name="offset"/> is its offset for the session's log.</summary>
    private async Task ApplyAsync(ClusterEntry entry, string? offset)
    {
        var following = FollowsStream;
        switch (entry.Kind)
        {
            case EntryKinds.Event:
                var upstreamEvent = new UpstreamEvent(entry.Topic!, entry.Action!, entry.RecordElement(), _timeProvider.GetTimestamp()) { LogOffset = offset };
                _succession.RecordPrimary(upstreamEvent);

                // Also a topic not yet published from here: the session routes only what it holds on this stream, and a
                // connection that was replayed up to here must get the events after it live.
                if (following)
                {
                    await _context.Subscriber.OnEventAsync(upstreamEvent);
                }

                break;
            case EntryKinds.Applied:
                if (ClusterEntry.VersionOf(entry.Versions, MemberId) is { } version)
                {
                    _fallback.Complete(version);
                    if (_resyncOwedFrom is { } owed && version >= owed && following)
                    {
                        _resyncOwedFrom = null;
                        await _context.Subscriber.OnResubscribedAsync();
                    }
                }

                break;
            case EntryKinds.Refused:
                _fallback.FailRefused(entry.Topics, ClusterEntry.VersionOf(entry.Versions, MemberId));
                if (following)
                {
                    _context.Subscriber.OnTopicsRefused(entry.Topics);
                    RequestSync();
                }

                break;
            case EntryKinds.Resync when following:
                await _context.Subscriber.OnResubscribedAsync();
                break;
            case EntryKinds.HandoverBegin when entry.Member == MemberId:
                _succession.BeginRecording();
                break;
            case EntryKinds.HandoverReady when entry.Member != MemberId:
                _succession.OnSuccessorReady(entry.Member!);
                break;
            case EntryKinds.HandoverDone when entry.Successor == MemberId:
                await _succession.CompleteAsync();
                break;
        }
    }

    /// <summary>Writes this instance's topics (with their version and an expiry, renewed as a heartbeat) to the session's hash.</summary>
    private async Task PublishTopicsAsync(CancellationToken stopping)
    {
        var dirty = _topicsDirty;
        _topicsDirty = false;
        var snapshot = _context.Subscriber.GetTopics();
        var value = InstanceTopics.Format(snapshot, _timeProvider.GetUtcNow() + (_options.LeaseTime * 3));
        var epoch = await _context.Store.PublishTopicsAsync(_context.Keys, MemberId, value).WaitAsync(stopping);
        if (!_follower.IsReading(epoch))
        {
            // The Stream this incarnation reads was deleted before its entry was there to keep it (the last follower left
            // meanwhile): read the new one from its beginning (its entry now keeps it), and owe the connections, which
            // may have been replayed from the old one, a Resync.
            _follower.Restart();
            await _follower.StartFromEndAsync(stopping, fromStart: true);
            OnStreamReplaced();
            dirty = true;
        }

        _nextHeartbeat = _timeProvider.GetTimestamp() + Ticks(_options.LeaseTime);
        if (dirty)
        {
            await _context.Store.NotifyAsync(_context.Keys, 't').WaitAsync(stopping);
        }
    }

    /// <summary>
    /// Reading moved to a new Stream: the connections may have been replayed from the old one, and what PocketBase sent
    /// since the old one's owner left went nowhere. Their Resync waits until the new Stream's owner confirms this
    /// incarnation's topics (its PocketBase stream holds them): sent before, a change made until then would be lost after
    /// it. The new Stream is read from its start, so that confirmation is never missed.
    /// </summary>
    private void OnStreamReplaced()
    {
        ClusterLog.StreamReplaced(_logger, StreamName);
        _resyncOwedFrom = _context.Subscriber.GetTopics().Version;

        // An owner that finds its Stream replaced confirms again: the followers' Resyncs wait for that in the new one.
        _keeper.ConfirmAgain();
    }

    /// <summary>Redis is unreachable: the own stream takes over, and the owner's and a successor's streams close in the background.</summary>
    private void GoAlone()
    {
        if (_fallback.GoAlone())
        {
            // Alone, the own stream's Resync covers a replaced Stream's.
            _resyncOwedFrom = null;
            _keeper.Release();
            _succession.Release();
        }
    }

    /// <summary>Redis is back: publish the topics again and keep the own stream until the cluster confirms it holds them.</summary>
    private void BeginReturn()
    {
        _follower.Restart();
        _topicsDirty = true;
        _fallback.BeginReturn(_context.Subscriber.GetTopics().Version);
    }

    private async Task StopListeningAsync()
    {
        if (Interlocked.Exchange(ref _notifications, null) is { } notifications)
        {
            await notifications.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private long Ticks(TimeSpan interval) => (long)(interval.TotalSeconds * _timeProvider.TimestampFrequency);
}
