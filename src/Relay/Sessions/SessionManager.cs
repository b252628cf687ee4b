using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// Holds one <see cref="UserSession"/> per user and one for all guests. A session lives while it has connections and
/// for <see cref="SessionOptions.Linger"/> after the last one leaves, so a page reload finds its PocketBase stream open.
/// </summary>
internal sealed partial class SessionManager : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SessionKey, SessionTimers> _sessions = [];
    private readonly SessionOptions _options;
    private readonly AuthOptions _authOptions;
    private readonly TokenVerifier _verifier;
    private readonly FanoutDispatcher _fanout;
    private readonly PocketBaseRealtimeClient _realtimeClient;
    private readonly IUpstreamFactory _upstreams;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ISessionEventLogFactory _eventLogs;
    private readonly TimeSpan _routeLinger;
    private readonly ISessionListener? _classStreams;

    public SessionManager(
        IOptions<SessionOptions> options,
        IOptions<AuthOptions> authOptions,
        TokenVerifier verifier,
        FanoutDispatcher fanout,
        PocketBaseRealtimeClient realtimeClient,
        IUpstreamFactory upstreams,
        RelayMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        ISessionEventLogFactory eventLogs,
        IOptions<HistoryOptions> historyOptions,
        ISessionListener? classStreams = null)
    {
        _classStreams = classStreams is { Enabled: true } ? classStreams : null;
        _eventLogs = eventLogs;
        // With no history kept a dropped connection's topics cannot be recovered, so holding them on would buy nothing.
        _routeLinger = historyOptions.Value.MaxEvents > 0 ? historyOptions.Value.MaxAge : TimeSpan.Zero;
        _options = options.Value;
        _authOptions = authOptions.Value;
        _verifier = verifier;
        _fanout = fanout;
        _realtimeClient = realtimeClient;
        _upstreams = upstreams;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<SessionManager>();
        metrics.ObserveQueueDepth(() => AllConnections().Sum(static connection => (long)connection.QueuedCount));
        _classStreams?.ObservePerUserTopics(() =>
        {
            lock (_gate)
            {
                return _sessions.Values.Sum(static entry => (long)entry.Session.TopicCount);
            }
        });
    }

    /// <summary>Live sessions (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Every attached connection, across sessions.</summary>
    public IReadOnlyList<RelayConnection> AllConnections()
    {
        UserSession[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions.Values.Select(static entry => entry.Session)];
        }

        return [.. sessions.SelectMany(session => session.Connections)];
    }

    public UserSession? Find(SessionKey key)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(key)?.Session;
        }
    }

    /// <summary>Attaches <paramref name="connection"/> to its user's session, opening the session if needed.</summary>
    /// <param name="connection">The new connection.</param>
    /// <param name="key">Its user, as PocketBase verified it.</param>
    /// <param name="token">The token PocketBase just verified for this user; null for guests.</param>
    /// <param name="expiresAt">When <paramref name="token"/> expires.</param>
    public UserSession Attach(RelayConnection connection, SessionKey key, string? token, DateTimeOffset expiresAt)
    {
        lock (_gate)
        {
            UserSession session;
            if (!_sessions.TryGetValue(key, out var entry))
            {
                session = key.IsGuest
                    ? new UserSession(key, token, expiresAt, _upstreams.Create, _fanout, _options.GuestTopicsPerStream, _options.MaxGuestStreams, _timeProvider, _realtimeClient, _eventLogs.Create(key), _routeLinger)
                    : new UserSession(key, token, expiresAt, _upstreams.Create, _fanout, _options.MaxTopicsPerSession, 1, _timeProvider, _realtimeClient, _eventLogs.Create(key), _routeLinger);
                entry = new SessionTimers(session);
                _sessions.Add(key, entry);
                _metrics.SessionOpened(key.IsGuest);
                Log.SessionOpened(_logger, session.Name);
                if (!key.IsGuest)
                {
                    ScheduleRefresh(entry);
                }
            }
            else
            {
                session = entry.Session;
                if (token is not null)
                {
                    session.UseToken(token, expiresAt);
                }
            }

            entry.Linger?.Dispose();
            entry.Linger = null;
            session.AddConnection(connection);
            connection.Owner = session;
            return session;
        }
    }

    public void Detach(RelayConnection connection)
    {
        // Only Attach sets the owner, always to a session of this manager.
        var session = (UserSession)connection.Owner;
        _classStreams?.ConnectionLeft(connection);
        lock (_gate)
        {
            if (session.RemoveConnection(connection) > 0
                || !_sessions.TryGetValue(session.Key, out var entry) || entry.Session != session || entry.Linger is not null)
            {
                return;
            }

            // The generation tells this linger apart from an earlier one whose callback was already queued when a
            // reconnect cancelled it: that stale callback must not close the session before this linger has passed.
            var generation = ++entry.LingerGeneration;
            entry.Linger = _timeProvider.CreateTimer(
                static state =>
                {
                    var (manager, expiring, generation) = ((SessionManager, SessionTimers, long))state!;
                    _ = manager.ExpireAsync(expiring, generation);
                },
                (this, entry, generation),
                _options.Linger,
                Timeout.InfiniteTimeSpan);
        }
    }

    public async ValueTask DisposeAsync()
    {
        SessionTimers[] entries;
        lock (_gate)
        {
            entries = [.. _sessions.Values];
            foreach (var entry in entries)
            {
                entry.Dispose();
            }

            _sessions.Clear();
        }

        foreach (var entry in entries)
        {
            _metrics.SessionClosed(entry.Session.Key.IsGuest);
            await entry.Session.DisposeAsync();
        }
    }

    /// <summary>Closes the session of <paramref name="entry"/> if it is still unused and <paramref name="generation"/> is its current linger.</summary>
    private async Task ExpireAsync(SessionTimers entry, long generation)
    {
        var session = entry.Session;
        lock (_gate)
        {
            if (session.ConnectionCount > 0 || entry.Linger is null || entry.LingerGeneration != generation
                || !_sessions.TryGetValue(session.Key, out var current) || current != entry)
            {
                return;
            }

            _sessions.Remove(session.Key);
            entry.Dispose();
            _metrics.SessionClosed(session.Key.IsGuest);
        }

        _classStreams?.MemberClosed(session);
        try
        {
            await session.DisposeAsync();
            Log.SessionClosed(_logger, session.Name);
        }
        catch (Exception ex)
        {
            Log.SessionCloseFailed(_logger, session.Name, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "Session {Session} opened.")]
        public static partial void SessionOpened(ILogger logger, string session);

        [LoggerMessage(3002, LogLevel.Information, "Session {Session} closed after its linger time; its PocketBase stream is released.")]
        public static partial void SessionClosed(ILogger logger, string session);

        [LoggerMessage(3003, LogLevel.Error, "Closing session {Session} failed.")]
        public static partial void SessionCloseFailed(ILogger logger, string session, Exception exception);

        [LoggerMessage(3004, LogLevel.Debug, "Session {Session}'s token refreshed; it now expires at {ExpiresAt}.")]
        public static partial void TokenRefreshed(ILogger logger, string session, DateTimeOffset expiresAt);

        [LoggerMessage(3005, LogLevel.Warning, "Refreshing session {Session}'s token failed without a verdict (PocketBase unreachable or an unexpected answer); retrying.")]
        public static partial void TokenRefreshUnavailable(ILogger logger, string session, Exception exception);

        [LoggerMessage(3006, LogLevel.Information, "Session {Session} ended: PocketBase no longer accepts its token ({Reason}); its connections were told and closed.")]
        public static partial void AuthExpired(ILogger logger, string session, string reason);

        [LoggerMessage(3007, LogLevel.Debug, "Session {Session}'s token was replaced while the previous one was refreshed; checking the one in use.")]
        public static partial void TokenReplacedDuringRefresh(ILogger logger, string session);
    }
}
