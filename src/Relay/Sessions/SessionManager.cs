using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// Holds one <see cref="UserSession"/> per user and one for all guests. A session lives while it has connections and
/// for <see cref="SessionOptions.Linger"/> after the last one leaves, so a page reload finds its PocketBase stream open.
/// </summary>
internal sealed partial class SessionManager : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SessionKey, UserSession> _sessions = [];
    private readonly SessionOptions _options;
    private readonly AuthOptions _authOptions;
    private readonly TokenVerifier _verifier;
    private readonly FanoutDispatcher _fanout;
    private readonly PocketBaseRealtimeClient _realtimeClient;
    private readonly UpstreamConnectPipeline _pipeline;
    private readonly IOptions<PocketBaseOptions> _pocketBaseOptions;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;

    public SessionManager(
        IOptions<SessionOptions> options,
        IOptions<AuthOptions> authOptions,
        TokenVerifier verifier,
        FanoutDispatcher fanout,
        PocketBaseRealtimeClient realtimeClient,
        UpstreamConnectPipeline pipeline,
        IOptions<PocketBaseOptions> pocketBaseOptions,
        RelayMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _authOptions = authOptions.Value;
        _verifier = verifier;
        _fanout = fanout;
        _realtimeClient = realtimeClient;
        _pipeline = pipeline;
        _pocketBaseOptions = pocketBaseOptions;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<SessionManager>();
        metrics.ObserveQueueDepth(() => AllConnections().Sum(static connection => (long)connection.QueuedCount));
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
            sessions = [.. _sessions.Values];
        }

        return [.. sessions.SelectMany(session => session.Connections)];
    }

    public UserSession? Find(SessionKey key)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(key);
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
            if (!_sessions.TryGetValue(key, out var session))
            {
                session = new UserSession(key, token, expiresAt, CreateUpstream, _fanout, _options.MaxTopicsPerSession, _timeProvider, _realtimeClient);
                _sessions.Add(key, session);
                _metrics.SessionOpened(key.IsGuest);
                Log.SessionOpened(_logger, session.Name);
                if (!key.IsGuest)
                {
                    ScheduleRefresh(session);
                }
            }
            else if (token is not null)
            {
                session.UseToken(token, expiresAt);
            }

            session.LingerTimer?.Dispose();
            session.LingerTimer = null;
            session.AddConnection(connection);
            connection.Session = session;
            return session;
        }
    }

    public void Detach(RelayConnection connection)
    {
        var session = connection.Session;
        lock (_gate)
        {
            if (session.RemoveConnection(connection) > 0 || session.LingerTimer is not null)
            {
                return;
            }

            // The generation tells this linger apart from an earlier one whose callback was already queued when a
            // reconnect cancelled it: that stale callback must not close the session before this linger has passed.
            var generation = ++session.LingerGeneration;
            session.LingerTimer = _timeProvider.CreateTimer(
                static state =>
                {
                    var (manager, expiring, generation) = ((SessionManager, UserSession, long))state!;
                    _ = manager.ExpireAsync(expiring, generation);
                },
                (this, session, generation),
                _options.Linger,
                Timeout.InfiniteTimeSpan);
        }
    }

    public async ValueTask DisposeAsync()
    {
        UserSession[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions.Values];
            _sessions.Clear();
        }

        foreach (var session in sessions)
        {
            _metrics.SessionClosed(session.Key.IsGuest);
            await session.DisposeAsync();
        }
    }

    /// <summary>Closes <paramref name="session"/> if it is still unused and <paramref name="generation"/> is its current linger.</summary>
    private async Task ExpireAsync(UserSession session, long generation)
    {
        lock (_gate)
        {
            if (session.ConnectionCount > 0 || session.LingerTimer is null || session.LingerGeneration != generation
                || !_sessions.TryGetValue(session.Key, out var current) || current != session)
            {
                return;
            }

            _sessions.Remove(session.Key);
            _metrics.SessionClosed(session.Key.IsGuest);
        }

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

    private UpstreamConnection CreateUpstream(UserSession session)
        => new(session, _realtimeClient, _pipeline, _pocketBaseOptions, _timeProvider, _metrics, _loggerFactory.CreateLogger<UpstreamConnection>());

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

        [LoggerMessage(3005, LogLevel.Warning, "PocketBase could not be reached to refresh session {Session}'s token; retrying.")]
        public static partial void TokenRefreshUnavailable(ILogger logger, string session, Exception exception);

        [LoggerMessage(3006, LogLevel.Information, "Session {Session} ended: PocketBase no longer accepts its token ({Reason}); its connections were told and closed.")]
        public static partial void AuthExpired(ILogger logger, string session, string reason);
    }
}
