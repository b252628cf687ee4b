using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// A graceful handover of a session stream, make before break, from both sides. The owner shutting down (SIGTERM, or
/// its session closing here while others still follow) asks for a successor; a follower takes the successor's place,
/// opens its PocketBase stream beside the owner's and holds its events back (<see cref="OwnerFeed"/>) until the owner has
/// closed its own and passed the lease; nothing lost, nothing twice, no <c>Resync</c>. Its state is the loop's
/// (<see cref="ClusterUpstream"/>): a handover asked for from another thread arrives through the inbox. The task that
/// waits for the successor's stream to hold the topics writes nothing of it; it is awaited when the succession ends.
/// </summary>
internal sealed class Succession(ClusterUpstreamContext context, LeaseKeeper keeper) : IDisposable
{
    private readonly List<TaskCompletionSource> _handovers = [];

    // Sources of successions given up whose task beside the stream may still read the token: disposed once it is done.
    private readonly List<CancellationTokenSource> _retired = [];
    private OwnerFeed? _successor;
    private CancellationTokenSource _successorStopping = new();
    private Task _ready = Task.CompletedTask;
    private Task _closing = Task.CompletedTask;
    private long _deadline;

    // The owner's side: the successor that is ready, and when this owner lets go to it (after the overlap).
    private string? _letGoTo;
    private long _letGoAt;

    // The successor's side: a succession was given up and its key not yet freed.
    private bool _withdrawOwed;

    /// <summary>This incarnation is opening its stream as the successor of an owner handing over.</summary>
    public bool IsSucceeding => _successor is not null;

    /// <summary>
    /// The owner hands over: when it is, and another incarnation follows, it marks the handover and wakes them; the
    /// first to take the successor's key opens its stream. <paramref name="done"/> completes when handed over (or at
    /// once when there is nothing to hand over).
    /// </summary>
    public async Task BeginHandoverAsync(TaskCompletionSource done, CancellationToken stopping)
    {
        try
        {
            var members = await ClusterMembers.ReadLiveAsync(context.Store, context.Keys, context.TimeProvider).WaitAsync(stopping);
            if (!keeper.Owns || !members.Keys.Any(member => member != context.MemberId))
            {
                done.TrySetResult();
                return;
            }

            _handovers.Add(done);
            await context.Store.SetAsync(context.Keys.Handover, context.MemberId, context.Options.HandoverTimeout).WaitAsync(stopping);
            await context.Store.NotifyAsync(context.Keys, 'h').WaitAsync(stopping);
        }
        catch
        {
            // The caller stops waiting now: it lets go without a handover (the followers resync).
            done.TrySetResult();
            throw;
        }
    }

    /// <summary>
    /// A lease tick without the lease: when the owner is handing over (and it is not this incarnation), take the
    /// successor's place and open the stream. True while a handover is under way: the lease is not to be taken then.
    /// </summary>
    public async Task<bool> TryStartAsync(CancellationToken stopping)
    {
        var store = context.Store;
        var handover = await store.GetAsync(context.Keys.Handover).WaitAsync(stopping);
        if (handover is null)
        {
            return false;
        }

        if (handover != context.MemberId
            && await store.TryTakeAsync(context.Keys.Successor, context.MemberId, context.Options.HandoverTimeout).WaitAsync(stopping))
        {
            await StartAsync(stopping);
        }

        return true;
    }

    /// <summary>
    /// A lease tick while succeeding: the owner did not let go in time, or this instance is stopping
    /// (<paramref name="withdraw"/>: another may succeed instead, rather than the owner handing over to one that goes).
    /// Either way the succession is given up and the successor's key freed.
    /// </summary>
    public async Task CheckDeadlineAsync(bool withdraw = false)
    {
        if (_successor is null)
        {
            return;
        }

        if (withdraw)
        {
            ClusterLog.SuccessionWithdrawn(context.Logger, context.StreamName);
        }
        else if (context.TimeProvider.GetTimestamp() > _deadline)
        {
            ClusterLog.SuccessionAbandoned(context.Logger, context.StreamName);
        }
        else
        {
            return;
        }

        await GiveUpAsync();
    }

    /// <summary>
    /// A lease tick while succeeding: the owner's lease has expired, so it is gone without handing over (killed, or its
    /// process ended under the handover). The succession is given up now, not at its deadline: true, and the caller takes
    /// the stream over (with a Resync). Events held back since this successor was ready are dropped with its stream; the
    /// Resync covers them.
    /// </summary>
    public async Task<bool> GiveUpIfOwnerGoneAsync(CancellationToken stopping)
    {
        if (_successor is null || await context.Store.GetAsync(context.Keys.Lease).WaitAsync(stopping) is not null)
        {
            return false;
        }

        ClusterLog.SuccessionOwnerGone(context.Logger, context.StreamName);
        await GiveUpAsync();
        return true;
    }

    /// <summary>
    /// A succession given up frees the successor's key: the owner then lets go to nobody, and another incarnation may
    /// take the successor's place while the owner still hands over. Not while halted (a killed process says nothing).
    /// </summary>
    public async Task WithdrawIfOwedAsync()
    {
        if (_withdrawOwed && context.Store.IsConnected)
        {
            _withdrawOwed = false;
            await context.Store.DeleteIfHeldAsync(context.Keys.Successor, context.MemberId);
        }
    }

    /// <summary>The reader saw this successor's <c>handover begin</c>: from now on the owner's events are remembered.</summary>
    public void BeginRecording() => _successor?.BeginRecording();

    /// <summary>An event the owner published, as the reader read it (the successor drops its own copy).</summary>
    public void RecordPrimary(UpstreamEvent upstreamEvent) => _successor?.RecordPrimary(upstreamEvent);

    /// <summary>
    /// A successor's stream holds every topic: keep reading this owner's one for <see cref="ClusterOptions.HandoverOverlap"/>
    /// more (a change PocketBase sent before the successor's subscriptions were accepted may still be on its way on ours
    /// only), then let go (<see cref="LetGoIfDueAsync"/>). The successor drops its copies of what this one publishes.
    /// </summary>
    public void OnSuccessorReady(string successor)
    {
        if (_handovers.Count == 0 || !keeper.Owns || _letGoTo == successor)
        {
            return;
        }

        _letGoTo = successor;
        _letGoAt = context.TimeProvider.GetTimestamp() + Ticks(context.Options.HandoverOverlap);
    }

    /// <summary>The successor is ready and this owner reads its stream for the overlap before it lets go (any thread; tests and diagnostics).</summary>
    public bool IsLettingGo => Volatile.Read(ref _letGoTo) is not null;

    /// <summary>How long until this owner lets go to its ready successor (the loop wakes then); null when not waiting to.</summary>
    public TimeSpan? LetGoDueIn => _letGoTo is null
        ? null
        : context.TimeProvider.GetElapsedTime(context.TimeProvider.GetTimestamp(), Math.Max(_letGoAt, context.TimeProvider.GetTimestamp()));

    /// <summary>The overlap after the successor became ready is over: close this owner's stream (publishing all it read), then pass the lease.</summary>
    public async Task LetGoIfDueAsync()
    {
        if (_letGoTo is not { } successor || context.TimeProvider.GetTimestamp() < _letGoAt)
        {
            return;
        }

        _letGoTo = null;
        if (_handovers.Count == 0 || !keeper.Owns)
        {
            return;
        }

        // The successor gave up meanwhile (its instance is stopping, or its session closed there): passing the lease to it
        // would leave the stream to a takeover with a Resync. Keep it until another successor is ready.
        var store = context.Store;
        if (await store.GetAsync(context.Keys.Successor) != successor)
        {
            ClusterLog.SuccessorWithdrew(context.Logger, context.StreamName);
            return;
        }

        await keeper.ReleaseAsync();
        await store.TransferAsync(context.Keys.Lease, context.MemberId, successor, context.Options.LeaseTime);
        await context.Appender.AppendAsync(ClusterEntry.HandoverDone(context.MemberId, successor));
        await store.DeleteIfHeldAsync(context.Keys.Handover, context.MemberId);
        ClusterLog.HandedOver(context.Logger, context.StreamName);
        CompleteHandovers();
    }

    /// <summary>Events the successor's stream holds back (none when not succeeding).</summary>
    public int HeldCount => _successor?.HeldCount ?? 0;

    /// <summary>The old owner closed its stream and passed the lease to this incarnation: own, and publish.</summary>
    public async Task CompleteAsync()
    {
        if (_successor is not { } feed)
        {
            return;
        }

        // Owned before publishing: when an append fails (the appender owes a gap for it), the keeper still holds the feed,
        // so going alone or losing the lease closes it; otherwise nobody would, and it would go on appending unleased.
        _successor = null;
        keeper.Adopt(feed);
        await feed.CompleteSuccessionAsync();
        await context.Store.DeleteIfHeldAsync(context.Keys.Successor, context.MemberId);
    }

    /// <summary>
    /// Closes a successor's stream without waiting for it (<see cref="StopAsync"/> waits); gives up the handovers this
    /// owner began (Redis is gone, or the loop stops: their callers let go now, not at the handover's timeout).
    /// </summary>
    public void Release()
    {
        _letGoTo = null;
        CompleteHandovers();
        if (_successor is not { } feed)
        {
            return;
        }

        _successor = null;
        _withdrawOwed = true;
        _successorStopping.Cancel();
        _retired.Add(_successorStopping);
        _successorStopping = new CancellationTokenSource();
        DisposeRetiredIfIdle();
        _closing = CloseAsync(_closing, feed);
    }

    /// <summary>Closes a successor's stream and waits for it and the task beside it.</summary>
    public async Task StopAsync()
    {
        Release();
        await _closing;
        await _ready;
    }

    /// <summary>After <see cref="StopAsync"/>: nothing runs beside a successor's stream any more.</summary>
    public void Dispose()
    {
        _successorStopping.Dispose();
        _retired.ForEach(static source => source.Dispose());
        _retired.Clear();
    }

    /// <summary>The owner is shutting down: open this instance's stream next to its one, then ask it to let go.</summary>
    private async Task StartAsync(CancellationToken stopping)
    {
        var feed = context.CreateFeed(successor: true);
        _successor = feed;
        _deadline = context.TimeProvider.GetTimestamp() + Ticks(context.Options.HandoverTimeout);
        await context.Appender.AppendAsync(ClusterEntry.HandoverBegin(context.MemberId), notify: false).WaitAsync(stopping);
        await keeper.RefreshUnionAsync(feed, stopping);
        feed.Connection = context.CreateLocal(feed);
        feed.Connection.Start();
        ClusterLog.Succeeding(context.Logger, context.StreamName);
        DisposeRetiredIfIdle();
        var previous = _ready;
        _ready = ReadyWhenHeldAsync(previous, feed, _successorStopping.Token);
    }

    private async Task ReadyWhenHeldAsync(Task previous, OwnerFeed feed, CancellationToken stopping)
    {
        await previous;
        try
        {
            await feed.Connection!.WaitForSyncAsync(feed.Version, stopping);
            await context.Appender.AppendAsync(ClusterEntry.HandoverReady(context.MemberId));
        }
        catch (Exception ex)
        {
            // The deadline abandons the succession; the owner then lets go without a handover.
            ClusterLog.SuccessionFailed(context.Logger, context.StreamName, ex.GetType().Name);
        }
    }

    /// <summary>Closes the successor's stream, waits for it, and frees the successor's key.</summary>
    private async Task GiveUpAsync()
    {
        Release();
        await _closing;
        await WithdrawIfOwedAsync();
    }

    /// <summary>Once the task beside the last successor's stream is done, no task reads a retired source's token.</summary>
    private void DisposeRetiredIfIdle()
    {
        if (_ready.IsCompleted)
        {
            _retired.ForEach(static source => source.Dispose());
            _retired.Clear();
        }
    }

    private void CompleteHandovers()
    {
        foreach (var done in _handovers)
        {
            done.TrySetResult();
        }

        _handovers.Clear();
    }

    private long Ticks(TimeSpan interval) => (long)(interval.TotalSeconds * context.TimeProvider.TimestampFrequency);

    private static async Task CloseAsync(Task previous, OwnerFeed feed)
    {
        await previous;
        await (feed.Connection?.DisposeAsync() ?? default);
        feed.Dispose();
    }
}
