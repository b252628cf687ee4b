using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Relay.Diagnostics;
using Relay.Redis;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// This instance's part in cluster mode: its id, the Redis connection shared with the BFF, and the session streams it
/// follows (each listens on its session's own notification channel). Without <c>Relay:Redis:Configuration</c> it is off and
/// sessions open their own PocketBase streams exactly as a single instance does. On SIGTERM (<see cref="StopAsync"/>)
/// it hands the streams it owns over to other instances, make before break.
/// </summary>
internal sealed class ClusterNode : IHostedService, IStreamFollowers
{
    /// <summary>
    /// How long after SIGTERM a stream owned here that nobody else follows is still offered to a successor: the
    /// connections drained at SIGTERM reconnect to another instance within about a second, and follow it there.
    /// </summary>
    internal static readonly TimeSpan DrainedClientsReturn = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<string, ClusterUpstream> _upstreams = new(StringComparer.Ordinal);

    // Streams whose session closed, still handing over and leaving: the session may already have a new incarnation of
    // the stream in _upstreams, and both still run (the old one to see its successor ready).
    private readonly ConcurrentDictionary<string, ClusterUpstream> _leaving = new(StringComparer.Ordinal);
    private readonly IServiceProvider? _services;
    private readonly Func<TimeSpan> _historyMaxAge;
    private readonly Lock _subscribeGate = new();
    private IConnectionMultiplexer? _redis;
    private volatile bool _stopping;
    private volatile bool _halted;

    public ClusterNode(IOptions<RedisOptions> redisOptions, IOptions<ClusterOptions> options, IServiceProvider services, RelayMetrics metrics, TimeProvider timeProvider, ILogger<ClusterNode> logger)
    {
        Enabled = redisOptions.Value.IsConfigured;
        Options = options.Value;
        _services = services;
        _historyMaxAge = () => services.GetRequiredService<IOptions<Relay.Sessions.HistoryOptions>>().Value.MaxAge;
        TimeProvider = timeProvider;
        Logger = logger;
        Store = new RedisClusterStore(() => Redis);
        if (Enabled)
        {
            metrics.ObserveCluster(() => IsConnected ? 1 : 0, () => OwnedCount);
        }
    }

    /// <summary>An instance on <paramref name="store"/> (an in-memory one in unit tests, shared by the instances of one test).</summary>
    internal ClusterNode(IClusterStore store, ClusterOptions options, TimeSpan historyMaxAge, TimeProvider timeProvider, ILogger logger)
    {
        Enabled = true;
        Options = options;
        _historyMaxAge = () => historyMaxAge;
        TimeProvider = timeProvider;
        Logger = logger;
        Store = store;
    }

    /// <summary>Cluster mode is on (<c>Relay:Redis:Configuration</c> is set).</summary>
    public bool Enabled { get; }

    /// <summary>This instance in Redis: leases and topic sets name it.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N")[..16];

    public ClusterOptions Options { get; }

    /// <summary>The Redis operations of cluster mode.</summary>
    public IClusterStore Store { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    /// <summary>Shutting down: hands its streams over and takes none.</summary>
    public bool Stopping => _stopping;

    /// <summary>Stopped talking to Redis and PocketBase at once, as a killed process would (tests only).</summary>
    public bool Halted => _halted;

    /// <summary>Redis answers; when not, every session runs its own stream as when alone.</summary>
    public bool IsConnected => Store.IsConnected;

    private IConnectionMultiplexer Redis
    {
        get
        {
            if (_redis is { } redis)
            {
                return redis;
            }

            lock (_subscribeGate)
            {
                if (_redis is null)
                {
                    _redis = _services!.GetRequiredService<IConnectionMultiplexer>();
                    // Notifications published while the connection was down are lost: every stream reads at once.
                    _redis.ConnectionRestored += (_, _) => WakeAll();
                }

                return _redis;
            }
        }
    }

    /// <summary>Session streams that this instance owns (for tests and diagnostics).</summary>
    public int OwnedCount => All().Count(static upstream => upstream.IsOwner);

    public ClusterUpstream Create(IUpstreamSubscriber subscriber, Func<IUpstreamSubscriber, UpstreamConnection> createLocal)
    {
        var upstream = new ClusterUpstream(subscriber, createLocal, this);
        _upstreams[upstream.StreamName] = upstream;
        return upstream;
    }

    /// <summary>The session stream <paramref name="streamName"/> this instance follows, if any.</summary>
    public ClusterUpstream? Find(string streamName) => _upstreams.GetValueOrDefault(streamName);

    public IStreamFollower? FindFollower(string streamName) => Find(streamName);

    /// <summary><c>Relay:History:MaxAge</c>: the Redis Streams are trimmed to it.</summary>
    public TimeSpan HistoryMaxAge => _historyMaxAge();

    /// <summary><paramref name="upstream"/>'s session closed: it is no longer found, but still notified until it has left.</summary>
    public void Leaving(ClusterUpstream upstream)
    {
        _leaving[upstream.StreamName] = upstream;
        _upstreams.TryRemove(new KeyValuePair<string, ClusterUpstream>(upstream.StreamName, upstream));
    }

    /// <summary><paramref name="upstream"/> has left Redis.</summary>
    public void Left(ClusterUpstream upstream)
    {
        _upstreams.TryRemove(new KeyValuePair<string, ClusterUpstream>(upstream.StreamName, upstream));
        _leaving.TryRemove(new KeyValuePair<string, ClusterUpstream>(upstream.StreamName, upstream));
    }

    /// <summary>
    /// Connects to Redis at startup, in the background, rather than on the first hub call:
    /// the first sessions' calls then find the connection made instead of waiting for it behind a burst of others.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            _ = Task.Run(() => Store.IsConnected, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (!Enabled || _halted)
        {
            return;
        }

        // Also the streams whose session closed and that are handing over now: the process must not end (and dispose the
        // Redis connection) under their handover. A stream nobody else follows yet is handed over as soon as somebody
        // does: its connections were just told to reconnect elsewhere (RelayDrainService), and where they land they
        // follow it; a session closing meanwhile hands its stream over too. Handed over later, after this returned, the
        // handover would be cut by the process ending, its successor left waiting for a "handover done" that never comes.
        var limit = Options.HandoverTimeout + TimeSpan.FromSeconds(5);
        var started = TimeProvider.GetTimestamp();
        while (true)
        {
            var remaining = limit - TimeProvider.GetElapsedTime(started);
            var owned = All().Where(static upstream => upstream.IsOwner).ToList();
            if (owned.Count == 0 || remaining <= TimeSpan.Zero)
            {
                return;
            }

            await Task.WhenAll(owned.Select(static upstream => upstream.HandOverAsync()))
                .WaitAsync(remaining, TimeProvider, cancellationToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested || TimeProvider.GetElapsedTime(started) >= DrainedClientsReturn)
            {
                return;
            }

            await Task.Delay(Options.RenewInterval, TimeProvider, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Stops at once without a word to Redis: leases are neither renewed nor released and owned PocketBase streams are
    /// dropped, exactly what the rest of the cluster sees when this process is killed. For tests of the takeover.
    /// </summary>
    public async Task HaltAsync()
    {
        _halted = true;
        _stopping = true;
        await Task.WhenAll(All().Select(static upstream => upstream.HaltAsync().AsTask()));
    }

    private void WakeAll()
    {
        foreach (var upstream in All())
        {
            upstream.Notify('e');
        }
    }

    private IEnumerable<ClusterUpstream> All() => _upstreams.Values.Concat(_leaving.Values).Distinct();
}
