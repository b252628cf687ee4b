using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Fanout;
using Relay.Hubs;
using Relay.Upstream;

namespace Relay.Bff;

/// <summary>
/// Remembers which hub connections a BFF session opened (a hub filter sees each connect and disconnect), so signing out
/// or a revoked session closes exactly that browser's connections. Sessions are known by the SHA-256 of their id
/// (<see cref="Hash"/>), which is what other instances announce through Redis when a session ends there.
/// </summary>
/// <param name="store">
/// The session store, asked once per connect; a factory because the Redis store itself needs this class (to close the
/// connections of sessions that ended on other instances).
/// </param>
internal sealed class BffHubConnections(Func<IBffSessionStore> store) : IHubFilter
{
    /// <summary>Set on the connect request's <see cref="HttpContext.Items"/> when the hub was authenticated by a session cookie.</summary>
    public static readonly object SessionIdKey = new();

    private static readonly CloseMessage SignedOut = new("The session was signed out.", allowReconnect: false);
    private static readonly CloseMessage Unchecked = new("The session could not be checked; try again.", allowReconnect: true);

    // One lock for the whole map: taken only on connect, disconnect and sign-out, for a dictionary operation each.
    // Concurrent dictionaries alone let a connection join a per-session map that a disconnect was just dropping.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, RelayConnection>> _bySession = new(StringComparer.Ordinal);

    public static string Hash(string sessionId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sessionId)));

    public int Count(string sessionId)
    {
        lock (_gate)
        {
            return _bySession.TryGetValue(Hash(sessionId), out var connections) ? connections.Count : 0;
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
    /// session gone and closes the connection itself.
    /// </summary>
    internal async Task RegisterAsync(string sessionId, RelayConnection connection)
    {
        var hash = Hash(sessionId);
        lock (_gate)
        {
            if (!_bySession.TryGetValue(hash, out var connections))
            {
                _bySession[hash] = connections = new(StringComparer.Ordinal);
            }

            connections[connection.ConnectionId] = connection;
        }

        CloseMessage? close;
        try
        {
            close = await store().GetAsync(sessionId, CancellationToken.None) is null ? SignedOut : null;
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
    public int CloseAllByHash(string hash)
    {
        Dictionary<string, RelayConnection>? connections;
        lock (_gate)
        {
            if (!_bySession.Remove(hash, out connections))
            {
                return 0;
            }
        }

        foreach (var connection in connections.Values)
        {
            _ = connection.CloseAsync(SignedOut);
        }

        return connections.Count;
    }

    private bool Unregister(string hash, string connectionId)
    {
        lock (_gate)
        {
            if (!_bySession.TryGetValue(hash, out var connections) || !connections.Remove(connectionId))
            {
                return false;
            }

            if (connections.Count == 0)
            {
                _bySession.Remove(hash);
            }

            return true;
        }
    }
}
