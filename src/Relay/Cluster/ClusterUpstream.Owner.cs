using StackExchange.Redis;

namespace Relay.Cluster;

internal sealed partial class ClusterUpstream
{
    private OwnerFeed? _ownerFeed;
    private OwnerFeed? _successor;
    private long _successionDeadline;
    private volatile bool _unionDue = true;
    private volatile bool _handingOver;
    private TaskCompletionSource _handedOver = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Renews the lease it holds, or takes a free one (or a successor's place when the owner is handing over).</summary>
    private async Task LeaseAsync(IClusterStore database, CancellationToken stopping)
    {
        _unionDue = true;
        if (Volatile.Read(ref _ownerFeed) is not null)
        {
            // Trimming by age (MAXLEN on each append trims by count); readers also refuse an offset older than that.
            await database.TrimOlderThanAsync(_keys, _timeProvider.GetUtcNow() - _node.HistoryMaxAge).WaitAsync(stopping);
            if (!await database.RenewAsync(_keys.Lease, MemberId, _options.LeaseTime).WaitAsync(stopping))
            {
                Log.LeaseLost(_logger, StreamName);
                await StopOwningAsync();
            }

            return;
        }

        if (Volatile.Read(ref _successor) is not null)
        {
            if (_timeProvider.GetTimestamp() > _successionDeadline)
            {
                Log.SuccessionAbandoned(_logger, StreamName);
                await StopSuccessorAsync();
            }

            return;
        }

        // Returning instances take leases too: after Redis restarts empty every instance is returning, and one of them
        // must own the stream before any can be confirmed.
        if (_node.Stopping || _state.Kind == Mode.Alone)
        {
            return;
        }

        var handover = await database.GetAsync(_keys.Handover).WaitAsync(stopping);
        if (handover is not null)
        {
            if (handover != MemberId
                && await database.TryTakeAsync(_keys.Successor, MemberId, _options.HandoverTimeout).WaitAsync(stopping))
            {
                await StartSuccessionAsync(database, stopping);
            }

            return;
        }

        if (await database.TryTakeAsync(_keys.Lease, MemberId, _options.LeaseTime).WaitAsync(stopping))
        {
            await BecomeOwnerAsync(database, stopping);
        }
    }

    /// <summary>
    /// Took a free lease. When another instance published last, it owned the stream and is gone without a handover
    /// (crashed, or cut off from Redis): events may have been lost, so every follower is told to resync.
    /// </summary>
    private async Task BecomeOwnerAsync(IClusterStore database, CancellationToken stopping)
    {
        var last = await database.LastEntryAsync(_keys).WaitAsync(stopping);
        var takeover = last is { } entry && ClusterEntry.Decode(entry).Member != MemberId;
        var feed = new OwnerFeed(_subscriber, AppendAndNotifyAsync, MemberId, _timeProvider, successor: false);
        await RefreshUnionAsync(database, feed, stopping);
        feed.Connection = _createLocal(feed);
        feed.Connection.Start();
        Volatile.Write(ref _ownerFeed, feed);
        _unionDue = true;
        Log.Owning(_logger, StreamName, takeover);
        if (takeover)
        {
            _ = ResyncWhenHeldAsync(feed);
        }
    }

    /// <summary>
    /// The Resync of a takeover goes out once the new stream holds the topics: a client that refetched earlier could
    /// still miss a change made before PocketBase held them.
    /// </summary>
    private async Task ResyncWhenHeldAsync(OwnerFeed feed)
    {
        while (!_stopping.IsCancellationRequested && Volatile.Read(ref _ownerFeed) == feed)
        {
            try
            {
                await feed.Connection!.WaitForSyncAsync(feed.Version, _stopping.Token);
                await AppendAndNotifyAsync(ClusterEntry.Resync(MemberId));
                return;
            }
            catch (Exception ex)
            {
                // PocketBase (or Redis) unreachable for now: the gap stays owed until the stream holds the topics.
                Log.ConfirmFailed(_logger, StreamName, ex.GetType().Name);
                await Task.Delay(_options.RenewInterval, _timeProvider, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The owner is shutting down: open this instance's stream next to its one, then ask it to let go.</summary>
    private async Task StartSuccessionAsync(IClusterStore database, CancellationToken stopping)
    {
        var feed = new OwnerFeed(_subscriber, AppendAndNotifyAsync, MemberId, _timeProvider, successor: true);
        Volatile.Write(ref _successor, feed);
        _successionDeadline = _timeProvider.GetTimestamp() + (long)(_options.HandoverTimeout.TotalSeconds * _timeProvider.TimestampFrequency);
        await AppendAsync(database, ClusterEntry.HandoverBegin(MemberId)).WaitAsync(stopping);
        await RefreshUnionAsync(database, feed, stopping);
        feed.Connection = _createLocal(feed);
        feed.Connection.Start();
        Log.Succeeding(_logger, StreamName);
        _ = ReadyWhenHeldAsync(feed);
    }

    private async Task ReadyWhenHeldAsync(OwnerFeed feed)
    {
        try
        {
            await feed.Connection!.WaitForSyncAsync(feed.Version, _stopping.Token);
            await AppendAndNotifyAsync(ClusterEntry.HandoverReady(MemberId));
        }
        catch (Exception ex)
        {
            // The deadline in LeaseAsync abandons the succession; the owner then lets go without a handover.
            Log.SuccessionFailed(_logger, StreamName, ex.GetType().Name);
        }
    }

    /// <summary>A successor's stream holds every topic: close this one (publishing all it read), then pass the lease.</summary>
    private async Task OnSuccessorReadyAsync(string successor)
    {
        if (!_handingOver || Volatile.Read(ref _ownerFeed) is null)
        {
            return;
        }

        await StopOwningAsync();
        var database = Store;
        await database.TransferAsync(_keys.Lease, MemberId, successor, _options.LeaseTime);
        await AppendAndNotifyAsync(ClusterEntry.HandoverDone(MemberId, successor));
        await database.DeleteIfHeldAsync(_keys.Handover, MemberId);
        Log.HandedOver(_logger, StreamName);
        _handingOver = false;
        _handedOver.TrySetResult();
    }

    private async Task CompleteSuccessionAsync()
    {
        if (Interlocked.Exchange(ref _successor, null) is not { } feed)
        {
            return;
        }

        await feed.CompleteSuccessionAsync();
        Volatile.Write(ref _ownerFeed, feed);
        _unionDue = true;
        await Store.DeleteIfHeldAsync(_keys.Successor, MemberId);
        Log.Owning(_logger, StreamName, takeover: false);
    }

    /// <summary>
    /// SIGTERM (or the session closing here) while this instance owns the stream and others follow it: wait for one of
    /// them to open its replacement before closing ours, so their connections lose nothing and get no <c>Resync</c>.
    /// </summary>
    public async Task HandOverAsync()
    {
        if (Volatile.Read(ref _ownerFeed) is null || _state.Kind != Mode.Cluster || !_node.IsConnected)
        {
            return;
        }

        var database = Store;
        var others = await ReadInstancesAsync(database);
        if (others.Count == 0)
        {
            return;
        }

        _handedOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handingOver = true;
        await database.SetAsync(_keys.Handover, MemberId, _options.HandoverTimeout);
        await Store.NotifyAsync(_keys, 'h');
        try
        {
            await _handedOver.Task.WaitAsync(_options.HandoverTimeout, _timeProvider);
        }
        catch (TimeoutException)
        {
            Log.HandoverTimedOut(_logger, StreamName);
        }
    }

    /// <summary>Recomputes the union of every live instance's topics; confirms instance versions once PocketBase holds them.</summary>
    private async Task RefreshUnionAsync(IClusterStore database, OwnerFeed feed, CancellationToken stopping)
    {
        if (!_unionDue && feed.Connection is not null)
        {
            return;
        }

        _unionDue = false;
        var instances = await ReadInstancesAsync(database, includeSelf: true).WaitAsync(stopping);
        string[] union = [.. instances.SelectMany(static instance => instance.Value.Topics).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var changed = feed.Update(union);
        if (changed)
        {
            feed.Connection?.RequestSync();
        }

        var versions = string.Join(',', instances.OrderBy(static pair => pair.Key, StringComparer.Ordinal).Select(static pair => $"{pair.Key}={pair.Value.Version}"));
        if (feed.IsPrimary && feed.Connection is not null && (changed || versions != feed.AckedVersions))
        {
            feed.AckedVersions = versions;
            _ = ConfirmAsync(feed, feed.Version, versions);
        }
    }

    private async Task ConfirmAsync(OwnerFeed feed, long version, string versions)
    {
        try
        {
            await feed.Connection!.WaitForSyncAsync(version, _stopping.Token);
            await AppendAndNotifyAsync(ClusterEntry.Applied(MemberId, versions));
        }
        catch (Exception ex)
        {
            // PocketBase unreachable or the stream closed: the waiting subscriptions time out (upstream_unavailable);
            // the next change or lease tick confirms again.
            feed.ForgetConfirmation(versions);
            Log.ConfirmFailed(_logger, StreamName, ex.GetType().Name);
        }
    }

    /// <summary>Every instance's live topic entry (expired ones, of instances that stopped renewing, are removed).</summary>
    private async Task<Dictionary<string, InstanceTopics>> ReadInstancesAsync(IClusterStore database, bool includeSelf = false)
    {
        var entries = await database.ReadTopicsAsync(_keys);
        var now = _timeProvider.GetUtcNow();
        var live = new Dictionary<string, InstanceTopics>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var instance = (string)entry.Name!;
            if (InstanceTopics.Parse(entry.Value) is not { } topics || topics.ExpiresAt < now)
            {
                // Only the entry read: its incarnation may have come back and written a fresh one since.
                await database.RemoveTopicsIfUnchangedAsync(_keys, instance, (string)entry.Value!);
                continue;
            }

            if (includeSelf || instance != MemberId)
            {
                live[instance] = topics;
            }
        }

        return live;
    }

    private async Task AppendAndNotifyAsync(NameValueEntry[] fields)
    {
        if (!_node.IsConnected)
        {
            // Not lost silently: every follower cut off from Redis runs its own stream and resyncs its connections,
            // and resyncs them again when it returns. Failing fast keeps the owner's stream from backing up meanwhile.
            // The Stream gets a gap entry before the next append, so no recovery read spans the dropped events.
            Interlocked.Exchange(ref _appendDropped, 1);
            return;
        }

        var database = Store;
        // Appends come from the owner's stream and from confirmations running beside it: exactly one of them writes the gap.
        if (Interlocked.Exchange(ref _appendDropped, 0) == 1)
        {
            try
            {
                await AppendAsync(database, ClusterEntry.Resync(MemberId));
            }
            catch
            {
                Interlocked.Exchange(ref _appendDropped, 1);
                throw;
            }
        }

        var append = AppendAsync(database, fields);
        var notify = Store.NotifyAsync(_keys, 'e');
        await append;
        await notify;
    }

    private async Task StopOwningAsync()
    {
        if (Interlocked.Exchange(ref _ownerFeed, null) is { } feed)
        {
            await (feed.Connection?.DisposeAsync() ?? default);
            feed.Dispose();
        }
    }

    private async Task StopSuccessorAsync()
    {
        if (Interlocked.Exchange(ref _successor, null) is { } feed)
        {
            await (feed.Connection?.DisposeAsync() ?? default);
            feed.Dispose();
        }
    }
}
