using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Fanout;
using Relay.Hubs;

namespace Relay.Bff;

/// <summary>
/// Remembers which hub connections a BFF session opened (a hub filter sees each connect and disconnect), so signing out
/// or a revoked session closes exactly that browser's connections. Sessions are known by the SHA-256 of their id
/// (<see cref="Hash"/>), which is what other instances announce through Redis when a session ends there.
/// </summary>
internal sealed class BffHubConnections : IHubFilter
{
    /// <summary>Set on the connect request's <see cref="HttpContext.Items"/> when the hub was authenticated by a session cookie.</summary>
    public static readonly object SessionIdKey = new();

    private static readonly CloseMessage SignedOut = new("The session was signed out.", allowReconnect: false);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, RelayConnection>> _bySession = new(StringComparer.Ordinal);

    public static string Hash(string sessionId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sessionId)));

    public int Count(string sessionId) => _bySession.TryGetValue(Hash(sessionId), out var connections) ? connections.Count : 0;

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        await next(context);
        if (context.Context.GetHttpContext()?.Items[SessionIdKey] is string sessionId)
        {
            var hash = Hash(sessionId);
            context.Context.Items[SessionIdKey] = hash;
            _bySession.GetOrAdd(hash, static _ => new(StringComparer.Ordinal))[context.Context.ConnectionId] = RelayHubLifetimeManager.GetConnection(context.Context);
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.Items.TryGetValue(SessionIdKey, out var value) && value is string hash
            && _bySession.TryGetValue(hash, out var connections))
        {
            connections.TryRemove(context.Context.ConnectionId, out _);
            if (connections.IsEmpty)
            {
                _bySession.TryRemove(KeyValuePair.Create(hash, connections));
            }
        }

        await next(context, exception);
    }

    /// <summary>Closes every connection of <paramref name="sessionId"/>; returns how many.</summary>
    public int CloseAll(string sessionId) => CloseAllByHash(Hash(sessionId));

    /// <summary>
    /// Closes every connection of the session whose id hashes to <paramref name="hash"/> with a close message that
    /// forbids reconnecting (the cookie no longer opens anything); returns how many.
    /// </summary>
    public int CloseAllByHash(string hash)
    {
        if (!_bySession.TryRemove(hash, out var connections))
        {
            return 0;
        }

        foreach (var connection in connections.Values)
        {
            _ = connection.CloseAsync(SignedOut);
        }

        return connections.Count;
    }
}
