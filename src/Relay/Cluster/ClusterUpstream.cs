using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// One session stream in cluster mode, on one instance. The instance publishes the topics its connections hold to the
/// session's hash in Redis and reads the session's Redis Stream, handing each event to the session, which fans it out
/// to its own connections exactly as when alone. Whichever instance holds the lease also runs the one PocketBase stream
/// for the union of every instance's topics and appends what it reads to the Redis Stream. When Redis is unreachable it
/// falls back to a stream of its own and comes back once the cluster holds its topics; every such switch is a
/// <c>Resync</c>.
/// <para>
/// One owner per piece of state. One loop per stream (<see cref="RunAsync"/>) does all Redis work and owns the timers;
/// other threads reach it only through its inbox (<see cref="ClusterInbox"/>). The loop drives the owners:
/// <see cref="StreamFollower"/> (the read position, the log's head, the entries read lately), <see cref="LeaseKeeper"/>
/// (the lease and the owner's PocketBase stream), <see cref="Succession"/> (a handover, either side),
/// <see cref="AloneFallback"/> (the mode, the own stream while alone, the waiting subscriptions) and
/// <see cref="StreamAppender"/> (the one writer of the Stream, and the gap it owes). The tasks beside the loop (waiting for
/// PocketBase to hold topics) write no owner's state: they append, post to the inbox, or take the owner's lock, and each
/// owner awaits its own when it stops.
/// </para>
/// <para>
/// Lock order (a lock is only taken after those to its left, never the other way):
/// the session's lock → <see cref="StreamFollower"/>'s lock (a replay positions reading: <see cref="StartAt"/>) →
/// <see cref="RecentEntries"/>' lock; the session's lock → <see cref="ClusterSessionEventLog"/>'s read-ahead lock.
/// <see cref="AloneFallback"/>'s lock, <see cref="OwnerFeed"/>'s lock and <see cref="StreamAppender"/>'s gate are
/// leaves (no other lock is taken under them; the appender's gate is held across Redis calls, never under a lock).
/// The loop holds none of them while it hands an entry to the session. docs/cluster.md says the same.
/// </para>
/// </summary>
internal sealed partial class ClusterUpstream : IUpstream, IStreamFollower
{
    private readonly ClusterUpstreamContext _context;
    private readonly ClusterNode _node;
    private readonly ClusterOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ClusterInbox _inbox;
    private readonly StreamFollower _follower;
    private readonly LeaseKeeper _keeper;
    private readonly Succession _succession;
    private readonly AloneFallback _fallback;
    private Task _loop = Task.CompletedTask;

    public ClusterUpstream(IUpstreamSubscriber subscriber, Func<IUpstreamSubscriber, UpstreamConnection> createLocal, ClusterNode node)
    {
        _context = new ClusterUpstreamContext(subscriber, createLocal, node);
        _node = node;
        _options = node.Options;
        _timeProvider = node.TimeProvider;
        _logger = node.Logger;
        _inbox = _context.Inbox;
        _follower = new StreamFollower(node.Store, _context.Keys);
        _keeper = new LeaseKeeper(_context);
        _succession = new Succession(_context, _keeper);
        _fallback = new AloneFallback(_context, RequestSync, _stopping.Token);
    }

    /// <summary>Draws a new epoch for a Stream whose keys are being created.</summary>
    public static string NewEpoch() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>The session stream's name in Redis and in logs (the session, and the shard for the guests' extra streams).</summary>
    public string StreamName => _context.StreamName;

    /// <summary>
    /// This incarnation of the stream in Redis (instance id and a nonce): its topic entry, its lease, its confirmations
    /// and its Stream entries name it. A session closed and opened again on one instance is two incarnations whose lives
    /// overlap while the first one still shuts down; neither may take the other's entries for its own.
    /// </summary>
    public string MemberId => _context.MemberId;

    /// <summary>This instance holds the lease and runs the session's PocketBase stream for the cluster.</summary>
    public bool IsOwner => _keeper.IsOwner;

    /// <summary>
    /// Handing over: the successor is ready, and this owner still reads its PocketBase stream for
    /// <see cref="ClusterOptions.HandoverOverlap"/> before it lets go (tests and diagnostics).
    /// </summary>
    public bool IsLettingGo => _succession.IsLettingGo;

    /// <summary>This instance reads the session's Redis Stream (cluster mode; not while running alone or returning).</summary>
    public bool FollowsStream => _fallback.Mode.Kind == ClusterMode.Cluster;

    /// <summary>
    /// The Redis Stream's epoch (random, drawn when the Stream's keys are created) while this instance follows it, and the
    /// id of the last entry it has handed to the session: together the session's offset for a client that subscribes
    /// now. Null while running alone (the session's own log answers then).
    /// </summary>
    public (string Epoch, string EntryId)? LogHead => FollowsStream ? _follower.Head : null;

    /// <summary>
    /// Starts reading the Stream after <paramref name="position"/> of <paramref name="epoch"/> unless reading has a
    /// position already (no I/O): a replay read ahead up to there, so everything after it comes live.
    /// </summary>
    public void StartAt(string epoch, RedisValue position)
    {
        if (FollowsStream)
        {
            _follower.StartAt(epoch, position);
        }
    }

    /// <summary>Entries read lately, from memory: a replay under the session's lock never waits for Redis.</summary>
    public bool TryReadRecent(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries)
        => _follower.TryReadRecent(first, last, inclusive, out entries);

    public void Start() => _loop = Task.Run(RunAsync);

    public void RequestSync()
    {
        _fallback.RequestSync();
        _inbox.Signal(ClusterSignals.TopicsDirty);
    }

    public Task WaitForSyncAsync(long version, CancellationToken cancellationToken, string? upstreamTopic = null)
        => _fallback.WaitForSyncAsync(version, upstreamTopic, cancellationToken);

    /// <summary>Not in cluster mode (shared streams stay off there): the caller reopens the stream.</summary>
    public Task<bool> ChangeHolderAsync(string token, Action commit, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>
    /// A notification for this stream: e (entries appended), t (topics changed), h (a handover starts). Any of them makes
    /// the loop read the Stream at once.
    /// </summary>
    public void Notify(char kind) => _inbox.Signal(kind switch
    {
        't' => ClusterSignals.TopicsChanged,
        'h' => ClusterSignals.HandoverStarting,
        _ => ClusterSignals.Appended,
    });

    /// <summary>
    /// SIGTERM (or the session closing here) while this instance owns the stream and others follow it: wait for one of
    /// them to open its replacement before closing ours, so their connections lose nothing and get no <c>Resync</c>.
    /// </summary>
    public async Task HandOverAsync()
    {
        if (!IsOwner || !FollowsStream || !_node.IsConnected || _stopping.IsCancellationRequested)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inbox.Post(new ClusterCommand(ClusterCommandKind.HandOver, Done: done)))
        {
            return;
        }

        try
        {
            await done.Task.WaitAsync(_options.HandoverTimeout, _timeProvider);
        }
        catch (TimeoutException)
        {
            ClusterLog.HandoverTimedOut(_logger, StreamName);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _node.Leaving(this);
        if (!_node.Halted && FollowsStream && _node.IsConnected)
        {
            // Leaving while the instance runs on (the session's linger ended): another instance may still need the
            // stream, so hand it over as on SIGTERM.
            await HandOverAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await StopLoopAsync();
        await _keeper.StopAsync();
        await _succession.StopAsync();
        await _fallback.StopAsync();
        if (!_node.Halted)
        {
            await _succession.WithdrawIfOwedAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await LeaveAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await StopListeningAsync();
        _node.Left(this);
        _fallback.FailAll(new ObjectDisposedException(nameof(ClusterUpstream)));
        _keeper.Dispose();
        _succession.Dispose();
        _context.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Drops the streams this instance runs without a word to Redis (see <see cref="ClusterNode.HaltAsync"/>).</summary>
    public async ValueTask HaltAsync()
    {
        await StopLoopAsync();
        await _keeper.StopAsync();
        await _succession.StopAsync();
        await StopListeningAsync();
    }

    private async Task StopLoopAsync()
    {
        await _stopping.CancelAsync();
        _inbox.Complete();
        await _loop;

        // A handover asked for as the loop stopped is given up at once rather than at its timeout.
        _commands.Clear();
        _inbox.TakeAll(_commands);
        foreach (var command in _commands)
        {
            command.Done?.TrySetResult();
        }
    }

    /// <summary>
    /// Removes this incarnation's topics and lease; when no other incarnation (here or elsewhere) follows the stream any
    /// more, its keys too, in one step (<see cref="ClusterScripts.Leave"/>).
    /// </summary>
    private async Task LeaveAsync()
    {
        if (!_node.IsConnected)
        {
            return;
        }

        if (!await _context.Store.LeaveAsync(_context.Keys, MemberId, _timeProvider.GetUtcNow()))
        {
            await _context.Store.NotifyAsync(_context.Keys, 't');
        }
    }
}
