using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Relay.Bff;

/// <summary>
/// Remembers which hub connections a BFF session opened (a hub filter sees each connect and disconnect), so signing out
/// or a revoked session closes exactly that browser's connections.
/// </summary>
internal sealed class BffHubConnections : IHubFilter
{
    /// <summary>Set on the connect request's <see cref="HttpContext.Items"/> when the hub was authenticated by a session cookie.</summary>
    public static readonly object SessionIdKey = new();

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, HubCallerContext>> _bySession = new(StringComparer.Ordinal);

    public int Count(string sessionId) => _bySession.TryGetValue(sessionId, out var connections) ? connections.Count : 0;

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        await next(context);
        if (context.Context.GetHttpContext()?.Items[SessionIdKey] is string sessionId)
        {
            context.Context.Items[SessionIdKey] = sessionId;
            _bySession.GetOrAdd(sessionId, static _ => new(StringComparer.Ordinal))[context.Context.ConnectionId] = context.Context;
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.Items.TryGetValue(SessionIdKey, out var value) && value is string sessionId
            && _bySession.TryGetValue(sessionId, out var connections))
        {
            connections.TryRemove(context.Context.ConnectionId, out _);
            if (connections.IsEmpty)
            {
                _bySession.TryRemove(KeyValuePair.Create(sessionId, connections));
            }
        }

        await next(context, exception);
    }

    /// <summary>Aborts every connection of <paramref name="sessionId"/>; returns how many.</summary>
    public int CloseAll(string sessionId)
    {
        if (!_bySession.TryRemove(sessionId, out var connections))
        {
            return 0;
        }

        foreach (var connection in connections.Values)
        {
            connection.Abort();
        }

        return connections.Count;
    }
}
