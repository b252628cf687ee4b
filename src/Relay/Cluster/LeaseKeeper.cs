namespace Relay.Cluster;

/// <summary>
/// The lease of a session stream for one incarnation, and the PocketBase stream it runs for the cluster while it holds
/// it (<see cref="OwnerFeed"/>): takes a free lease, renews it, notices its loss, keeps the owner's topic set the union
/// of every incarnation's and confirms their versions once PocketBase holds them. Its state is the loop's
/// (<see cref="ClusterUpstream"/>): every method but <see cref="IsOwner"/> runs there. The tasks that wait for PocketBase
/// beside the loop (confirmations, a takeover's <c>Resync</c>) write nothing of it: they append through
/// <see cref="StreamAppender"/> and report a failed confirmation through the inbox; each is awaited when the lease goes.
/// </summary>
internal sealed class LeaseKeeper(ClusterUpstreamContext context) : IDisposable
{
    private readonly List<Task> _background = [];

    // Sources of streams given up whose tasks may still read the token: disposed once those tasks are done.
    private readonly List<CancellationTokenSource> _retired = [];
    private OwnerFeed? _feed;
    private CancellationTokenSource _feedStopping = new();
    private Task _closing = Task.CompletedTask;
    private bool _unionDue = true;

    // This incarnation owned the stream and lost the lease without handing it over (cut off from Redis longer than the
    // lease): its PocketBase stream is closed, so taking the lease again is a takeover like any other — the events
    // PocketBase sent meanwhile are nobody's, although the last entry in the Stream is this incarnation's own.
    private bool _lostWithoutHandover;

    // The instance versions last confirmed with an applied entry; forgotten when that confirmation fails.
    private string _confirmed = string.Empty;

    /// <summary>This instance holds the lease and runs the session's PocketBase stream for the cluster (any thread).</summary>
    public bool IsOwner => Volatile.Read(ref _feed) is { IsPrimary: true };

    /// <summary>Holds the lease (the loop).</summary>
    public bool Owns => _feed is not null;

    /// <summary>The union is recomputed at the next refresh (topics changed here or elsewhere, or a lease tick).</summary>
    public void MarkUnionDue() => _unionDue = true;

    /// <summary>A confirmation of <paramref name="versions"/> failed: confirm again, unless others were confirmed since.</summary>
    public void ForgetConfirmation(string versions)
    {
        if (_confirmed == versions)
        {
            _confirmed = string.Empty;
        }
    }

    /// <summary>
    /// Confirm every incarnation's versions again at the next refresh, changed or not: the Stream was replaced, and its
    /// followers wait for a confirmation in the new one before they resync.
    /// </summary>
    public void ConfirmAgain()
    {
        _confirmed = string.Empty;
        _unionDue = true;
    }

    /// <summary>Renews the lease (trimming the Stream by age while at it); on its loss the PocketBase stream is closed here.</summary>
    public async Task RenewAsync(CancellationToken stopping)
    {
        var store = context.Store;
        var keys = context.Keys;

        // Trimming by age (MAXLEN on each append trims by count); readers also refuse an offset older than that.
        await store.TrimOlderThanAsync(keys, context.TimeProvider.GetUtcNow() - context.Node.HistoryMaxAge).WaitAsync(stopping);
        if (!await store.RenewAsync(keys.Lease, context.MemberId, context.Options.LeaseTime).WaitAsync(stopping))
        {
            ClusterLog.LeaseLost(context.Logger, context.StreamName);
            _lostWithoutHandover = true;
            await ReleaseAsync();
        }
    }

    /// <summary>
    /// Takes the lease if it is free. When another incarnation published last, it owned the stream and is gone without a
    /// handover (crashed, or cut off from Redis): events may have been lost, so every follower is told to resync. So too
    /// when this incarnation lost the lease itself (<see cref="RenewAsync"/>) and takes it back.
    /// </summary>
    /// <param name="stopping">The loop's stopping.</param>
    /// <param name="ownerGone">
    /// The owner this incarnation was succeeding went without handing over: a takeover (with its Resync) even when the
    /// Stream's last entries are this incarnation's own (the successor's <c>handover begin</c> and <c>ready</c>).
    /// </param>
    public async Task TryTakeAsync(CancellationToken stopping, bool ownerGone = false)
    {
        var store = context.Store;
        if (!await store.TryTakeAsync(context.Keys.Lease, context.MemberId, context.Options.LeaseTime).WaitAsync(stopping))
        {
            return;
        }

        var last = await store.LastEntryAsync(context.Keys).WaitAsync(stopping);
        var takeover = ownerGone || _lostWithoutHandover || (last is { } entry && ClusterEntry.Decode(entry).Member != context.MemberId);
        _lostWithoutHandover = false;
        var feed = context.CreateFeed(successor: false);
        await RefreshUnionAsync(feed, stopping);
        feed.Connection = context.CreateLocal(feed);
        feed.Connection.Start();
        Own(feed);
        ClusterLog.Owning(context.Logger, context.StreamName, takeover);
        if (takeover)
        {
            Track(ResyncWhenHeldAsync(feed, _feedStopping.Token));
        }
    }

    /// <summary>A successor's feed, now primary (the old owner let go): this incarnation holds the lease.</summary>
    public void Adopt(OwnerFeed feed)
    {
        Own(feed);
        ClusterLog.Owning(context.Logger, context.StreamName, takeover: false);
    }

    /// <summary>Recomputes the union when due and confirms instance versions once PocketBase holds them.</summary>
    public async Task RefreshIfDueAsync(CancellationToken stopping)
    {
        if (_unionDue && _feed is { } feed)
        {
            await RefreshUnionAsync(feed, stopping);
        }
    }

    /// <summary>
    /// Sets <paramref name="feed"/>'s topics to the union of every live incarnation's; a primary feed with a stream also
    /// confirms their versions once PocketBase holds them (a successor's waits: the owner confirms meanwhile).
    /// </summary>
    public async Task RefreshUnionAsync(OwnerFeed feed, CancellationToken stopping)
    {
        _unionDue = false;
        var members = await ClusterMembers.ReadLiveAsync(context.Store, context.Keys, context.TimeProvider).WaitAsync(stopping);
        string[] union = [.. members.Values.SelectMany(static member => member.Topics).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var versions = ClusterEntry.FormatVersions(members.Select(static pair => KeyValuePair.Create(pair.Key, pair.Value.Version)));
        var changed = feed.Update(union, versions);
        if (changed)
        {
            feed.Connection?.RequestSync();
        }

        if (feed == _feed && feed.IsPrimary && feed.Connection is not null && (changed || versions != _confirmed))
        {
            _confirmed = versions;
            Track(ConfirmAsync(feed, feed.Version, versions, _feedStopping.Token));
        }
    }

    /// <summary>
    /// Gives the PocketBase stream up without waiting for it to close (Redis is gone: the own stream must not wait for the
    /// owner's to drain its backlog). <see cref="StopAsync"/> waits.
    /// </summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _feed, null) is not { } feed)
        {
            return;
        }

        // The tasks beside the stream end with it (they may still read the token: the source is disposed once they are done).
        _feedStopping.Cancel();
        _retired.Add(_feedStopping);
        _feedStopping = new CancellationTokenSource();
        DisposeRetiredIfIdle();
        _closing = CloseAsync(_closing, feed);
    }

    /// <summary>Gives the PocketBase stream up and waits until it is closed: everything it read is published.</summary>
    public Task ReleaseAsync()
    {
        Release();
        return _closing;
    }

    /// <summary>The stream is gone for good: also waits for the tasks beside it.</summary>
    public async Task StopAsync()
    {
        await ReleaseAsync();
        await Task.WhenAll(_background);
        _background.Clear();
    }

    /// <summary>After <see cref="StopAsync"/>: nothing runs beside the stream any more.</summary>
    public void Dispose()
    {
        _feedStopping.Dispose();
        _retired.ForEach(static source => source.Dispose());
        _retired.Clear();
    }

    private void Own(OwnerFeed feed)
    {
        Volatile.Write(ref _feed, feed);
        _confirmed = string.Empty;
        _unionDue = true;
    }

    private void Track(Task task)
    {
        DisposeRetiredIfIdle();
        _background.Add(task);
    }

    /// <summary>Forgets the tasks done; when none is left, no task reads a retired source's token any more.</summary>
    private void DisposeRetiredIfIdle()
    {
        _background.RemoveAll(static done => done.IsCompleted);
        if (_background.Count == 0)
        {
            _retired.ForEach(static source => source.Dispose());
            _retired.Clear();
        }
    }

    private static async Task CloseAsync(Task previous, OwnerFeed feed)
    {
        await previous;
        await (feed.Connection?.DisposeAsync() ?? default);
        feed.Dispose();
    }

    /// <summary>
    /// The Resync of a takeover goes out once the new stream holds the topics: a client that refetched earlier could
    /// still miss a change made before PocketBase held them.
    /// </summary>
    private async Task ResyncWhenHeldAsync(OwnerFeed feed, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await feed.Connection!.WaitForSyncAsync(feed.Version, stopping);
                await context.Appender.AppendAsync(ClusterEntry.Resync(context.MemberId));
                return;
            }
            catch (Exception ex)
            {
                // PocketBase (or Redis) unreachable for now: the gap stays owed until the stream holds the topics.
                ClusterLog.ConfirmFailed(context.Logger, context.StreamName, ex.GetType().Name);
                await Task.Delay(context.Options.RenewInterval, context.TimeProvider, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task ConfirmAsync(OwnerFeed feed, long version, string versions, CancellationToken stopping)
    {
        try
        {
            await feed.Connection!.WaitForSyncAsync(version, stopping);
            await context.Appender.AppendAsync(ClusterEntry.Applied(context.MemberId, versions));
        }
        catch (Exception ex)
        {
            // PocketBase unreachable or the stream closed: the waiting subscriptions time out (upstream_unavailable);
            // the next change or lease tick confirms again.
            context.Inbox.Post(new ClusterCommand(ClusterCommandKind.ConfirmFailed, Versions: versions));
            ClusterLog.ConfirmFailed(context.Logger, context.StreamName, ex.GetType().Name);
        }
    }
}
