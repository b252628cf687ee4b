using System.Threading.Channels;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// One session stream in cluster mode, on one instance. The instance publishes the topics its connections hold to the
/// session's hash in Redis and reads the session's Redis Stream, handing each event to the session, which fans it out
/// to its own connections exactly as when alone. Whichever instance holds the lease also runs the one PocketBase stream
/// for the union of every instance's topics and appends what it reads to the Redis Stream (<see cref="OwnerFeed"/>).
/// When Redis is unreachable it falls back to a stream of its own (<see cref="Mode.Alone"/>) and comes back once the
/// cluster holds its topics again; every such switch is a <c>Resync</c>. All Redis work runs on one loop per stream.
/// <para>
/// Lock order (a lock is only taken after those to its left, never the other way): the session's lock, then this
/// stream's <c>_startGate</c> (a replay positions reading: <see cref="StartAt"/>), then <see cref="RecentEntries"/>'
/// lock; the session's lock, then <see cref="ClusterSessionEventLog"/>'s read-ahead lock. <c>_waitersGate</c> and
/// <see cref="OwnerFeed"/>'s lock are leaves. The loop holds none of them while it hands an entry to the session.
/// </para>
/// </summary>
internal sealed partial class ClusterUpstream : IUpstream, IStreamFollower
{
    private const int RecentCapacity = 256;

    private readonly IUpstreamSubscriber _subscriber;
    private readonly Func<IUpstreamSubscriber, UpstreamConnection> _createLocal;
    private readonly ClusterNode _node;
    private readonly ClusterOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<char> _signals = Channel.CreateBounded<char>(
        new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Lock _waitersGate = new();
    private readonly SyncWaiters _waiters = new();
    private readonly ClusterKeys _keys;
    // How the stream runs: one immutable value, replaced whole by the loop under _waitersGate, read anywhere without it.
    private volatile ModeState _state = ModeState.Following;
    private RedisValue _position = RedisValue.Null;

    // What a replay under the session's lock reads after its read-ahead (the read-ahead is at most seconds old).
    private readonly RecentEntries _recent = new(RecentCapacity);
    private readonly Lock _startGate = new();
    private volatile string? _epoch;
    private volatile string? _fannedOut;
    private int _appendDropped;

    // The guests' topics spread over several streams in the order each instance saw them, so two instances may hold one
    // topic on different streams: the session delivers an event only from the stream that holds it here, never twice.
    private bool _topicsDirty = true;
    private long _nextHeartbeat;
    private long _nextLease;
    private long _nextPoll;
    private IAsyncDisposable? _notifications;
    private Task _loop = Task.CompletedTask;

    public ClusterUpstream(IUpstreamSubscriber subscriber, Func<IUpstreamSubscriber, UpstreamConnection> createLocal, ClusterNode node)
    {
        _subscriber = subscriber;
        _createLocal = createLocal;
        _node = node;
        _options = node.Options;
        _timeProvider = node.TimeProvider;
        _logger = node.Logger;
        StreamName = subscriber.Name;
        MemberId = string.Concat(node.InstanceId, ".", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
        _keys = new ClusterKeys(StreamName);
    }

    private enum Mode
    {
        /// <summary>Following the session's Redis Stream.</summary>
        Cluster,

        /// <summary>Redis unreachable: a PocketBase stream of this instance's own, as when Relay runs alone.</summary>
        Alone,

        /// <summary>Redis is back: still alone until the cluster confirms it holds this instance's topics.</summary>
        Returning,
    }

    /// <summary>The mode and what belongs to it: the own stream (alone and returning) and the version a return waits for.</summary>
    private sealed record ModeState(Mode Kind, UpstreamConnection? Alone, long ReturnVersion)
    {
        public static readonly ModeState Following = new(Mode.Cluster, null, -1);
    }

    /// <summary>Draws a new epoch for a Stream whose keys are being created.</summary>
    public static string NewEpoch() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>The session stream's name in Redis and in logs (the session, and the shard for the guests' extra streams).</summary>
    public string StreamName { get; }

    /// <summary>
    /// This incarnation of the stream in Redis (instance id and a nonce): its topic entry, its lease, its confirmations
    /// and its Stream entries name it. A session closed and opened again on one instance is two incarnations whose lives
    /// overlap while the first one still shuts down; neither may take the other's entries for its own.
    /// </summary>
    public string MemberId { get; }

    /// <summary>This instance holds the lease and runs the session's PocketBase stream for the cluster.</summary>
    public bool IsOwner => Volatile.Read(ref _ownerFeed) is { IsPrimary: true };

    private IClusterStore Store => _node.Store;

    /// <summary>This instance reads the session's Redis Stream (cluster mode; not while running alone or returning).</summary>
    public bool FollowsStream => _state.Kind == Mode.Cluster;

    /// <summary>
    /// The Redis Stream's epoch (random, drawn when the Stream's keys are created) while this instance follows it, and the
    /// id of the last entry it has handed to the session: together the session's offset for a client that subscribes
    /// now. Null while running alone (the session's own log answers then).
    /// </summary>
    public (string Epoch, string EntryId)? LogHead
        => _state.Kind == Mode.Cluster && _epoch is { } epoch && _fannedOut is { } entryId ? (epoch, entryId) : null;

    /// <summary>
    /// Starts reading the Stream after <paramref name="position"/> of <paramref name="epoch"/> unless reading has a
    /// position already (no I/O): a replay read ahead up to there, so everything after it comes live.
    /// </summary>
    public void StartAt(string epoch, RedisValue position)
    {
        if (_state.Kind != Mode.Cluster)
        {
            return;
        }

        lock (_startGate)
        {
            if (_position.IsNull)
            {
                SetStart(epoch, position);
            }
        }
    }

    /// <summary>Entries read lately, from memory: a replay under the session's lock never waits for Redis.</summary>
    public bool TryReadRecent(StreamEntryId first, StreamEntryId last, bool inclusive, out StreamEntry[] entries)
        => _recent.TryRead(first, last, inclusive, out entries);

    public void Start() => _loop = Task.Run(RunAsync);

    public void RequestSync()
    {
        if (_state is { Kind: not Mode.Cluster, Alone: { } alone })
        {
            alone.RequestSync();
        }

        Volatile.Write(ref _topicsDirty, true);
        _signals.Writer.TryWrite('t');
    }

    public Task WaitForSyncAsync(long version, CancellationToken cancellationToken, string? upstreamTopic = null)
    {
        Task waiting;
        lock (_waitersGate)
        {
            if (_state is { Kind: Mode.Alone, Alone: { } alone })
            {
                return alone.WaitForSyncAsync(version, cancellationToken, upstreamTopic);
            }

            waiting = _waiters.Wait(version, upstreamTopic);
        }

        if (waiting.IsCompleted)
        {
            return waiting;
        }

        RequestSync();
        return waiting.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// A notification for this stream: e (entries appended), t (topics changed), h (a handover starts). Any of them makes
    /// the loop read the Stream at once.
    /// </summary>
    public void Notify(char kind) => _signals.Writer.TryWrite(kind);

    public async ValueTask DisposeAsync()
    {
        _node.Leaving(this);
        if (!_node.Halted && _state.Kind == Mode.Cluster && _node.IsConnected)
        {
            // Leaving while the instance runs on (the session's linger ended): another instance may still need the
            // stream, so hand it over as on SIGTERM.
            await HandOverAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _stopping.CancelAsync();
        _signals.Writer.TryComplete();
        await _loop;
        await StopOwningAsync();
        await StopSuccessorAsync();
        UpstreamConnection? ownStream;
        lock (_waitersGate)
        {
            ownStream = _state.Alone;
            _state = _state with { Alone = null };
        }

        if (ownStream is { } alone)
        {
            await alone.DisposeAsync();
        }

        if (!_node.Halted)
        {
            await LeaveAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await StopListeningAsync();
        _node.Left(this);
        FailWaiters(new ObjectDisposedException(nameof(ClusterUpstream)));
        _stopping.Dispose();
    }

    /// <summary>Drops the streams this instance runs without a word to Redis (see <see cref="ClusterNode.HaltAsync"/>).</summary>
    public async ValueTask HaltAsync()
    {
        await _stopping.CancelAsync();
        _signals.Writer.TryComplete();
        await _loop;
        await StopOwningAsync();
        await StopSuccessorAsync();
        await StopListeningAsync();
    }

    private async Task RunAsync()
    {
        var stopping = _stopping.Token;
        var notified = true;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await TickAsync(notified, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.RedisFailed(_logger, StreamName, ex.GetType().Name);
                await GoAloneAsync();
            }
            catch (Exception ex)
            {
                // A bug here must not end the session's stream for good.
                Log.LoopFailed(_logger, StreamName, ex);
            }

            try
            {
                notified = false;
                await _signals.Reader.WaitToReadAsync(stopping).AsTask().WaitAsync(_options.RenewInterval, _timeProvider, stopping);
                notified = true;
                while (_signals.Reader.TryRead(out var signal))
                {
                    if (signal == 'h')
                    {
                        _nextLease = 0;
                    }
                    else if (signal == 't')
                    {
                        _unionDue = true;
                    }
                }
            }
            catch (TimeoutException)
            {
                // Nothing notified: the tick still renews leases, and reads the Stream once per LeaseTime in case a
                // notification was lost.
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>One pass of the loop; <paramref name="notified"/>: woken by a notification rather than by the timer.</summary>
    private async Task TickAsync(bool notified, CancellationToken stopping)
    {
        if (_node.Halted)
        {
            return;
        }

        if (!_node.IsConnected)
        {
            await GoAloneAsync();
            return;
        }

        var database = Store;
        if (_state.Kind == Mode.Alone)
        {
            BeginReturn();
        }

        bool started;
        lock (_startGate)
        {
            started = !_position.IsNull;
        }

        if (_notifications is null)
        {
            // Before reading starts: an entry appended after the subscription is notified, one before it is read.
            _notifications = await database.SubscribeAsync(_keys, Notify).WaitAsync(stopping);
            notified = true;
        }

        if (!started)
        {
            await StartReadingAsync(database, stopping);
        }

        var now = _timeProvider.GetTimestamp();
        if (Volatile.Read(ref _topicsDirty) || now >= _nextHeartbeat)
        {
            await PublishTopicsAsync(database, stopping);
        }

        // Read when told to (every append is notified on the session's channel), and otherwise only as a safety net for a
        // notification lost (Redis reconnecting): one XREAD per stream per LeaseTime rather than per RenewInterval.
        if (notified || !started || now >= _nextPoll)
        {
            _nextPoll = now + (long)(_options.LeaseTime.TotalSeconds * _timeProvider.TimestampFrequency);
            await ReadStreamAsync(database, stopping);
        }

        if (now >= _nextLease)
        {
            _nextLease = now + (long)(_options.RenewInterval.TotalSeconds * _timeProvider.TimestampFrequency);
            await LeaseAsync(database, stopping);
        }

        if (Volatile.Read(ref _ownerFeed) is { } feed)
        {
            await RefreshUnionAsync(database, feed, stopping);
        }

        if (_state is { Kind: Mode.Returning } returning && _waiters.Confirmed >= returning.ReturnVersion)
        {
            await CompleteReturnAsync();
        }
    }

    private async Task StopListeningAsync()
    {
        if (Interlocked.Exchange(ref _notifications, null) is { } notifications)
        {
            await notifications.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
