using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Auth;
using Relay.Fanout;
using Relay.Hubs;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// Remembers which hub connections a BFF session opened (a hub filter sees each connect and disconnect), so signing out,
/// a revoked session or the session's absolute expiry closes exactly that browser's connections. Sessions are known by
/// <see cref="BffSessionHash"/>, which is what other instances announce through Redis when a session ends there; as that
/// announcement can be missed, <see cref="RecheckAsync"/> asks the store about every registered session regularly.
/// </summary>
/// <param name="store">
/// The session store, asked once per connect; a factory because the Redis store itself needs this class (to close the
/// connections of sessions that ended on other instances).
/// </param>
/// <param name="timeProvider">Schedules each session's close at its absolute expiry.</param>
internal sealed class BffHubConnections(Func<IBffSessionStore> store, TimeProvider timeProvider) : IHubFilter
{
    /// <summary>Set on the connect request's <see cref="HttpContext.Items"/> when the hub was authenticated by a session cookie.</summary>
    public static readonly object SessionIdKey = CredentialItems.SessionIdKey;

    private static readonly CloseMessage SignedOut = new("The session was signed out.", allowReconnect: false);
    private static readonly CloseMessage Expired = new("The session expired; sign in again.", allowReconnect: false);
    private static readonly CloseMessage Unchecked = new("The session could not be checked; try again.", allowReconnect: true);

    private readonly TimeProvider _time = timeProvider;

    // One lock for the whole map: taken only on connect, disconnect and sign-out, for a dictionary operation each.
    // Concurrent dictionaries alone let a connection join a per-session map that a disconnect was just dropping.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Registration> _bySession = new(StringComparer.Ordinal);

    public static string Hash(string sessionId) => BffSessionHash.Of(sessionId);

    public int Count(string sessionId)
    {
        lock (_gate)
        {
            return _bySession.TryGetValue(Hash(sessionId), out var registration) ? registration.Connections.Count : 0;
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        await next(context);
        // TryGetValue: a long-polling connection's HttpContext is SignalR's copy, whose Items throw on a missing key.
        if (context.Context.GetHttpContext()?.Items.TryGetValue(SessionIdKey, out var value) == true && value is string sessionId)
        {
            context.Context.Items[SessionIdKey] = Hash(sessionId);
            await RegisterAsync(sessionId, RelayHubLifetimeManager.GetConnection(context.Context));
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.Items.TryGetValue(SessionIdKey, out var value) && value is string hash)
        {
            Unregister(hash, context.Context.ConnectionId);
        }

        await next(context, exception);
    }

    /// <summary>
    /// Registers <paramref name="connection"/> as one of <paramref name="sessionId"/>'s, then checks that the session
    /// still exists. The cookie was resolved before the handshake; a sign-out since then removed the session from the
    /// store before closing its connections, so either that close saw this registration or this check sees the
    /// session gone and closes the connection itself. A live session's expiry is scheduled: the hub's own token
    /// refreshes would otherwise keep its connections open past the session's absolute lifetime.
    /// </summary>
    internal async Task RegisterAsync(string sessionId, RelayConnection connection)
    {
        var hash = Hash(sessionId);
        lock (_gate)
        {
            if (!_bySession.TryGetValue(hash, out var registration))
            {
                _bySession[hash] = registration = new Registration();
            }

            registration.Connections[connection.ConnectionId] = connection;
        }

        CloseMessage? close;
        try
        {
            var session = await store().GetAsync(sessionId, CancellationToken.None);
            close = session is null ? SignedOut : null;
            if (session is not null)
            {
                ScheduleExpiry(hash, session.SessionExpiresAt);
            }
        }
        catch (UpstreamException)
        {
            close = Unchecked;
        }

        // Closed here only if still registered: otherwise a sign-out already took and closed it.
        if (close is not null && Unregister(hash, connection.ConnectionId))
        {
            await connection.CloseAsync(close);
        }
    }

    /// <summary>Closes every connection of <paramref name="sessionId"/>; returns how many.</summary>
    public int CloseAll(string sessionId) => CloseAllByHash(Hash(sessionId));

    /// <summary>
    /// Closes every connection of the session whose id hashes to <paramref name="hash"/> with a close message that
    /// forbids reconnecting (the cookie no longer opens anything); returns how many.
    /// </summary>
    public int CloseAllByHash(string hash) => CloseAllByHash(hash, SignedOut);

    /// <summary>
    /// Asks the store whether each session that has connections here still exists and closes the connections of those
    /// that do not: a sign-out announced while this instance was cut off from Redis, or a session that expired.
    /// </summary>
    /// <returns>How many connections were closed.</returns>
    /// <exception cref="UpstreamException">The store could not be asked; nothing was closed.</exception>
    internal async Task<int> RecheckAsync(CancellationToken cancellationToken)
    {
        string[] hashes;
        lock (_gate)
        {
            hashes = [.. _bySession.Keys];
        }

        if (hashes.Length == 0)
        {
            return 0;
        }

        var live = await store().LiveAsync(hashes, cancellationToken);
        return hashes.Where(hash => !live.Contains(hash)).Sum(hash => CloseAllByHash(hash, SignedOut));
    }

    private void ScheduleExpiry(string hash, DateTimeOffset expiresAt)
    {
        lock (_gate)
        {
            if (!_bySession.TryGetValue(hash, out var registration) || registration.Expiry is not null)
            {
                return;
            }

            var due = expiresAt - _time.GetUtcNow();
            registration.Expiry = _time.CreateTimer(
                static state =>
                {
                    var (connections, hash) = ((BffHubConnections, string))state!;
                    connections.CloseAllByHash(hash, Expired);
                },
                (this, hash),
                due > TimeSpan.Zero ? due : TimeSpan.Zero,
                Timeout.InfiniteTimeSpan);
        }
    }

    private int CloseAllByHash(string hash, CloseMessage message)
    {
        Registration? registration;
        lock (_gate)
        {
            if (!_bySession.Remove(hash, out registration))
            {
                return 0;
            }
        }

        registration.Expiry?.Dispose();
        foreach (var connection in registration.Connections.Values)
        {
            _ = connection.CloseAsync(message);
        }

        return registration.Connections.Count;
    }

    private bool Unregister(string hash, string connectionId)
    {
        ITimer? expiry = null;
        lock (_gate)
        {
            if (!_bySession.TryGetValue(hash, out var registration) || !registration.Connections.Remove(connectionId))
            {
                return false;
            }

            if (registration.Connections.Count == 0)
            {
                _bySession.Remove(hash);
                expiry = registration.Expiry;
            }
        }

        expiry?.Dispose();
        return true;
    }

    /// <summary>One session's connections on this instance and the timer that closes them at its expiry.</summary>
    private sealed class Registration
    {
        public Dictionary<string, RelayConnection> Connections { get; } = new(StringComparer.Ordinal);

        public ITimer? Expiry { get; set; }
    }
}
