using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Redis;
using Relay.Routing;
using Relay.Sessions;
using Relay.Upstream;
using SessionOptions = Relay.Sessions.SessionOptions;

namespace Relay.SharedStreams;

/// <summary>
/// Routes a signed-in user's shared topics (issue #22 item 3) to one PocketBase stream per class instead of the user's
/// own: a class stream is a session keyed by the member's auth collection, the topic's collection and rule (list or
/// view) and the class key, held with the token of one live member of that class, so PocketBase still evaluates the
/// rule for every event with a real member's rights. Its events go only to the member connections routed to it. A topic
/// whose class cannot be known (per-user rule, options, unknown rules, a member whose record is not known) stays on
/// the user's own stream. Off unless <c>Relay:SharedStreams:Enabled</c>, superuser credentials and no cluster mode.
/// </summary>
internal sealed partial class ClassStreams : IConnectionOwner, ISessionListener
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SessionKey, ClassStream> _streams = [];
    private readonly Dictionary<RelayConnection, Dictionary<string, ClassPlacement>> _placements = [];
    private readonly Dictionary<UserSession, ClassMember> _members = [];
    // Members whose own record is watched on their own stream: the holders of class streams (ClassStreams.Members.cs).
    private readonly HashSet<UserSession> _watchedHolders = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<RelayConnection, string[]> _topicSnapshots = new();
    private readonly CollectionRules _rules;
    private readonly IUpstreamFactory _upstreams;
    private readonly FanoutDispatcher _fanout;
    private readonly SessionOptions _sessionOptions;
    private readonly TimeSpan _routeLinger;
    private readonly TimeSpan _subscribeTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly PocketBaseRealtimeClient _realtimeClient;
    private readonly ISessionEventLogFactory _eventLogs;
    private readonly TokenVerifier _verifier;
    private readonly SharedStreamsMetrics _metrics;
    private readonly ILogger<ClassStreams> _logger;
    private readonly SharedStreamsOptions _options;
    private readonly AuthRecordWatch _authRecords;
    private long _rulesGeneration;

    public ClassStreams(
        IOptions<SharedStreamsOptions> options,
        IOptions<RedisOptions> redisOptions,
        CollectionRules rules,
        IUpstreamFactory upstreams,
        FanoutDispatcher fanout,
        IOptions<SessionOptions> sessionOptions,
        IOptions<HistoryOptions> historyOptions,
        IOptions<PocketBaseOptions> pocketBaseOptions,
        TimeProvider timeProvider,
        PocketBaseRealtimeClient realtimeClient,
        ISessionEventLogFactory eventLogs,
        TokenVerifier verifier,
        SharedStreamsMetrics metrics,
        ILogger<ClassStreams> logger,
        AuthRecordWatch authRecords)
    {
        _authRecords = authRecords;
        _rules = rules;
        _options = options.Value;
        _upstreams = upstreams;
        _fanout = fanout;
        _sessionOptions = sessionOptions.Value;
        _routeLinger = historyOptions.Value.MaxEvents > 0 ? historyOptions.Value.MaxAge : TimeSpan.Zero;
        _subscribeTimeout = pocketBaseOptions.Value.SubscribeTimeout;
        _timeProvider = timeProvider;
        _realtimeClient = realtimeClient;
        _eventLogs = eventLogs;
        _verifier = verifier;
        _metrics = metrics;
        _logger = logger;
        // Cluster mode keys every stream by its session across instances; a class stream's holder is an instance-local
        // choice, so sharing stays off there (SharedStreamsStartupCheck warns at start).
        Enabled = rules.CanRead && !redisOptions.Value.IsConfigured;
        metrics.ObserveClassStreams(MeasureStreams, () => Sum(shared: true));
        if (Enabled)
        {
            rules.ReadCompleted += OnRulesRead;
            authRecords.OnChange(OnAuthRecordChange);
            StartShadowing();
        }
    }

    /// <summary>Shared topics are routed to class streams (sharing on, rules readable, not in cluster mode).</summary>
    public bool Enabled { get; }

    /// <summary>Class streams open (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>
    /// The session <paramref name="connection"/> of <paramref name="member"/> subscribes <paramref name="request"/> on:
    /// a class stream's when the topic is shared and the member's class is known, the member's own otherwise. Moves the
    /// connection's earlier subscription to the topic off the other one, so each topic of a connection is held once.
    /// </summary>
    public async ValueTask<UserSession> RouteAsync(UserSession member, RelayConnection connection, TopicSubscription request, SubscriptionOptions? options, CancellationToken cancellationToken)
    {
        if (!Enabled || member.Key.IsGuest)
        {
            return member;
        }

        var slash = request.Topic.IndexOf('/', StringComparison.Ordinal);
        var collection = request.Topic[..slash];
        var wildcard = request.Topic.AsSpan(slash + 1) is "*";
        var ruleClass = _rules.ClassifyTopic(collection, wildcard, options);
        var known = ruleClass.IsShared && await EnsureMemberAsync(member, cancellationToken);
        ClassStream? stream;
        List<Task> holderChanges = [];
        lock (_gate)
        {
            stream = known ? StreamFor(member, collection, wildcard, ruleClass) : null;
            holderChanges.AddRange(Unplace(connection, request.Topic, except: stream));
            if (stream is not null)
            {
                if (stream.Connections.TryAdd(connection, member))
                {
                    stream.Session.AddConnection(connection);
                }

                _owners[connection] = member;

                if (!_placements.TryGetValue(connection, out var placements))
                {
                    _placements[connection] = placements = new Dictionary<string, ClassPlacement>(StringComparer.Ordinal);
                }

                placements[request.Topic] = new ClassPlacement(stream, request, collection, wildcard, options);
                PublishTopics(connection, placements);
            }
        }

        await Task.WhenAll(holderChanges);
        if (stream is null)
        {
            return member;
        }

        // Held per user until now (or with options that were per user): one copy only.
        member.Unsubscribe(connection, request.Topic);
        return stream.Session;
    }

    /// <summary>The per-connection limit left for <paramref name="target"/>: <paramref name="max"/> less what the connection holds elsewhere.</summary>
    public int RemainingFor(RelayConnection connection, UserSession member, UserSession target, int max)
    {
        if (!Enabled)
        {
            return max;
        }

        var elsewhere = target == member ? 0 : member.SubscriptionCountOf(connection);
        lock (_gate)
        {
            if (_placements.TryGetValue(connection, out var placements))
            {
                elsewhere += placements.Values.Count(placement => placement.Stream.Session != target);
            }
        }

        return Math.Max(0, max - elsewhere);
    }

    /// <summary>Removes <paramref name="connection"/>'s subscription to <paramref name="topic"/> from its class stream, if it has one there.</summary>
    public async Task UnsubscribeAsync(RelayConnection connection, string topic)
    {
        List<Task> holderChanges;
        lock (_gate)
        {
            holderChanges = Unplace(connection, topic, except: null);
        }

        await Task.WhenAll(holderChanges);
    }

    /// <summary><paramref name="connection"/> left Relay: it leaves every class stream (holders move, emptied streams close).</summary>
    public void ConnectionLeft(RelayConnection connection)
    {
        if (!Enabled)
        {
            return;
        }

        List<Task> holderChanges = [];
        lock (_gate)
        {
            if (_placements.TryGetValue(connection, out var placements))
            {
                foreach (var topic in placements.Keys.ToArray())
                {
                    holderChanges.AddRange(Unplace(connection, topic, except: null));
                }
            }

            _owners.TryRemove(connection, out _);
        }

        _ = Task.WhenAll(holderChanges);
    }

    /// <summary>The topics held on users' own streams, for <c>relay.shared.topics{mode=per_user}</c>.</summary>
    public void ObservePerUserTopics(Func<long> perUserTopics) => _metrics.ObservePerUserTopics(perUserTopics);

    /// <summary>A member session closed: what was known of it goes.</summary>
    public void MemberClosed(UserSession member)
    {
        lock (_gate)
        {
            _members.Remove(member);
            _watchedHolders.Remove(member);
        }

        Unfence(member);
    }

    /// <summary>
    /// The connection's topics on class streams, read without this class's lock: a connection's overflow asks from
    /// inside a session's lock (a replay), and this class takes sessions' locks inside its own.
    /// </summary>
    public IReadOnlyList<string> GetTopicsOf(RelayConnection connection)
        => _topicSnapshots.TryGetValue(connection, out var topics) ? topics : [];

    /// <summary>Publishes the connection's shared topics for <see cref="GetTopicsOf"/>; under the lock.</summary>
    private void PublishTopics(RelayConnection connection, Dictionary<string, ClassPlacement> placements)
    {
        if (placements.Count == 0)
        {
            _topicSnapshots.TryRemove(connection, out _);
        }
        else
        {
            _topicSnapshots[connection] = [.. placements.Keys];
        }
    }
}
