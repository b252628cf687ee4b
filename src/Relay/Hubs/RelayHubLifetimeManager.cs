using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.Sessions;

namespace Relay.Hubs;

/// <summary>
/// SignalR's default lifetime manager plus Relay's bookkeeping: every connection gets a <see cref="RelayConnection"/>
/// (its own outbound queue) and is attached to its user's session. Relay addresses connections through the session's
/// routes, so sending costs O(recipients) instead of the default manager's scan of all connections per call
/// (dotnet/aspnetcore#60092).
/// </summary>
internal sealed class RelayHubLifetimeManager(
    ILogger<DefaultHubLifetimeManager<RelayHub>> logger,
    SessionManager sessions,
    IOptions<FanoutOptions> fanoutOptions,
    IOptions<HubLimitsOptions> limits,
    RelayMetrics metrics,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : DefaultHubLifetimeManager<RelayHub>(logger)
{
    private static readonly object ConnectionKey = new();
    private static readonly object SessionKeyItem = new();
    private readonly ILogger _connectionLogger = loggerFactory.CreateLogger<RelayConnection>();

    public static RelayConnection GetConnection(HubCallerContext context)
        => context.Items.TryGetValue(ConnectionKey, out var connection) && connection is RelayConnection relayConnection
            ? relayConnection
            : throw new InvalidOperationException($"Connection {context.ConnectionId} was not registered by {nameof(RelayHubLifetimeManager)}.");

    /// <summary>The session the connection was attached to (the hub's business; the connection itself does not know it).</summary>
    public static UserSession GetSession(HubCallerContext context)
        => context.Items.TryGetValue(SessionKeyItem, out var session) && session is UserSession userSession
            ? userSession
            : throw new InvalidOperationException($"Connection {context.ConnectionId} was not attached to a session by {nameof(RelayHubLifetimeManager)}.");

    /// <summary>What <see cref="GetConnection"/> and <see cref="GetSession"/> read, kept in the connection's items.</summary>
    internal static void Register(IDictionary<object, object?> items, RelayConnection connection, UserSession session)
    {
        items[ConnectionKey] = connection;
        items[SessionKeyItem] = session;
    }

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection);

        // The endpoint requires the PocketBase policy, so every connection carries a PocketBaseIdentity.
        var identity = connection.User.Identity as PocketBaseIdentity
            ?? throw new InvalidOperationException("The connection was not authenticated by the PocketBase scheme.");
        var key = identity.IsGuest ? SessionKey.Guest : new SessionKey(identity.CollectionId!, identity.RecordId!);

        var relayConnection = new RelayConnection(connection, fanoutOptions.Value, limits.Value.HubCallsPerSecond, timeProvider, metrics, _connectionLogger)
        {
            ProtocolVersion = ReadProtocolVersion(connection),
        };
        Register(connection.Items, relayConnection, sessions.Attach(relayConnection, key, identity.Token, identity.ExpiresAt));
        relayConnection.Start();
        metrics.ConnectionOpened();
    }

    /// <summary>The version the client declared, capped at what this server speaks; 1 when absent or malformed.</summary>
    private static int ReadProtocolVersion(HubConnectionContext connection)
    {
        var declared = connection.GetHttpContext()?.Request.Query[RelayProtocol.VersionParameter].ToString();
        return int.TryParse(declared, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version >= 1
            ? Math.Min(version, RelayProtocol.Version)
            : 1;
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (connection.Items.TryGetValue(ConnectionKey, out var value) && value is RelayConnection relayConnection)
        {
            metrics.ConnectionClosed();
            sessions.Detach(relayConnection);
            await relayConnection.CompleteAsync();
        }

        await base.OnDisconnectedAsync(connection);
    }
}
