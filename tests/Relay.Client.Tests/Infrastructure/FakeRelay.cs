using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Infrastructure;

/// <summary>
/// A fake Relay: <see cref="FakeRelayHub"/> on Kestrel at 127.0.0.1 on a free port, JSON and MessagePack, plus knobs to
/// refuse topics or connections and to push events, resyncs and drops to a connection.
/// </summary>
internal sealed class FakeRelay : IAsyncDisposable
{
    /// <summary>A token the fake answers with 401 on connect, and with <c>invalid_token</c> on Reauthenticate.</summary>
    public const string RejectedToken = "rejected-token";

    private readonly ConcurrentQueue<HubCall> _calls = new();
    private readonly ConcurrentDictionary<string, FakeConnection> _connections = new();
    private readonly ConcurrentQueue<FakeConnection> _connected = new();
    private readonly ConcurrentDictionary<string, HubConnectionContext> _contexts = new();
    private WebApplication _app = null!;

    private FakeRelay()
    {
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Logs of the clients made by <see cref="CreateClient"/>.</summary>
    public FakeLogCollector ClientLogs { get; } = new();

    /// <summary>Topics the hub refuses, with the error code it refuses them with.</summary>
    public ConcurrentDictionary<string, string> Refusals { get; } = new();

    /// <summary>Events the hub sends the caller inside <c>Subscribe</c>, before the call completes.</summary>
    public ConcurrentDictionary<string, RelayEvent> EventsOnSubscribe { get; } = new();

    /// <summary>Per topic, the only <c>since</c> the fake's history covers: a <c>SubscribeMany</c> entry with it is recovered.</summary>
    public ConcurrentDictionary<string, string> RecoverableSince { get; } = new();

    /// <summary>Per topic, the events the fake replays (before its result) when it recovers the topic.</summary>
    public ConcurrentDictionary<string, RelayEvent[]> ReplayOnRecover { get; } = new();

    /// <summary>How many of the next <c>Subscribe</c>/<c>SubscribeMany</c> calls are refused as a whole with <c>rate_limited</c>.</summary>
    public int RateLimitNextCalls;

    /// <summary>When set, every request to the hub path is answered with this status (Relay down or refusing).</summary>
    public int? RefuseConnectionsWith { get; set; }

    public IReadOnlyList<HubCall> Calls => [.. _calls];

    /// <summary>Every connection ever accepted, in order.</summary>
    public IReadOnlyList<FakeConnection> Connected => [.. _connected];

    /// <summary>The connections open now.</summary>
    public IReadOnlyCollection<FakeConnection> Open => [.. _connections.Values];

    private IHubClients<IRelayClient> HubClients => _version1
        ? _app.Services.GetRequiredService<IHubContext<FakeRelayHubV1, IRelayClient>>().Clients
        : _app.Services.GetRequiredService<IHubContext<FakeRelayHub, IRelayClient>>().Clients;

    private bool _version1;

    /// <param name="allowStatefulReconnects">
    /// Real Relay allows them; off by default here so that <see cref="Drop"/> forces the full reconnect most tests are about.
    /// </param>
    /// <param name="version1">A Relay that speaks protocol version 1 only: its hub has no <c>SubscribeMany</c>.</param>
    public static async Task<FakeRelay> StartAsync(bool allowStatefulReconnects = false, bool version1 = false)
    {
        var relay = new FakeRelay { _version1 = version1 };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(relay);
        builder.Services.AddSignalR(options => options.EnableDetailedErrors = false)
            .AddMessagePackProtocol(messagePack => messagePack.SerializerOptions = RelayMessagePack.SerializerOptions);
        // Captures each HubConnectionContext, through which the fake sends a close message as Relay's drain does.
        builder.Services.AddSingleton<HubLifetimeManager<FakeRelayHub>, CapturingLifetimeManager<FakeRelayHub>>();
        builder.Services.AddSingleton<HubLifetimeManager<FakeRelayHubV1>, CapturingLifetimeManager<FakeRelayHubV1>>();

        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (relay.RefuseConnectionsWith is { } status)
            {
                context.Response.StatusCode = status;
                return Task.CompletedTask;
            }

            var token = context.Request.Query[RelayProtocol.AccessTokenParameter].ToString();
            if (token == RejectedToken || context.Request.Headers.Authorization.ToString() == $"Bearer {RejectedToken}")
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            }

            return next(context);
        });
        if (version1)
        {
            app.MapHub<FakeRelayHubV1>(RelayProtocol.HubPath, options => options.AllowStatefulReconnects = allowStatefulReconnects);
        }
        else
        {
            app.MapHub<FakeRelayHub>(RelayProtocol.HubPath, options => options.AllowStatefulReconnects = allowStatefulReconnects);
        }

        await app.StartAsync().DefaultTimeout();

        relay._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        relay.Url = new Uri(address + "/");
        return relay;
    }

    /// <summary>A client of this relay with short reconnect delays, logging into <see cref="ClientLogs"/>.</summary>
    public RelayClient CreateClient(Action<RelayClientOptions>? configure = null)
    {
        var options = new RelayClientOptions
        {
            Url = Url,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(100),
            LoggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(ClientLogs))),
        };
        configure?.Invoke(options);
        return new RelayClient(options);
    }

    /// <summary>The calls of one method, optionally on one connection.</summary>
    public IReadOnlyList<HubCall> CallsOf(string method, string? connectionId = null)
        => [.. _calls.Where(c => c.Method == method && (connectionId is null || c.ConnectionId == connectionId))];

    /// <summary>Every topic a client asked to subscribe, through <c>Subscribe</c> or <c>SubscribeMany</c>, in order.</summary>
    public IReadOnlyList<SubscribeRequest> SubscribeRequests(string? connectionId = null)
        => [.. _calls.Where(c => connectionId is null || c.ConnectionId == connectionId).SelectMany(c => c.Method switch
        {
            nameof(FakeRelayHubV1.Subscribe) => [new SubscribeRequest { Topic = c.Topic, Options = c.Options }],
            nameof(FakeRelayHub.SubscribeMany) => c.Requests!,
            _ => Array.Empty<SubscribeRequest>(),
        })];

    public async Task<FakeConnection> WaitForConnectionAsync(int number)
    {
        await TestTimeouts.WaitUntilAsync(() => _connected.Count >= number, $"connection #{number} arrives");
        return Connected[number - 1];
    }

    public Task SendEventAsync(FakeConnection connection, RelayEvent relayEvent)
        => HubClients.Client(connection.ConnectionId).Event(relayEvent).DefaultTimeout();

    public Task SendEventsAsync(FakeConnection connection, RelayEvent[] relayEvents)
        => HubClients.Client(connection.ConnectionId).Events(relayEvents).DefaultTimeout();

    public Task SendResyncAsync(FakeConnection connection, ResyncSignal signal)
        => HubClients.Client(connection.ConnectionId).Resync(signal).DefaultTimeout();

    /// <summary>
    /// What Relay's drain on SIGTERM does: a close message that allows reconnecting, then the connection is closed, so
    /// the client moves to whichever instance the load balancer picks.
    /// </summary>
    public async Task CloseAllowingReconnectAsync(FakeConnection connection)
    {
        var context = _contexts[connection.ConnectionId];
        await context.WriteAsync(new CloseMessage("Relay is shutting down; reconnect.", allowReconnect: true)).AsTask().DefaultTimeout();
        context.Abort();
    }

    /// <summary>
    /// Closes the connection from the hub (<c>Context.Abort()</c>). SignalR then tells the client not to reconnect: the
    /// connection is over for good, as when Relay refuses to take a client back.
    /// </summary>
    public static void Close(FakeConnection connection) => connection.Context.Abort();

    /// <summary>
    /// Cuts the transport under the connection (a network failure, a Relay restart). Without stateful reconnect the
    /// client makes a new connection; with it, SignalR bridges the gap on the same connection.
    /// </summary>
    public static void Drop(FakeConnection connection) => connection.Context.GetHttpContext()!.Abort();

    internal void OnConnected(FakeConnection connection)
    {
        _connections[connection.ConnectionId] = connection;
        _connected.Enqueue(connection);
    }

    internal void OnDisconnected(string connectionId) => _connections.TryRemove(connectionId, out _);

    internal void Capture(HubConnectionContext context) => _contexts[context.ConnectionId] = context;

    /// <summary>Takes one unit of <see cref="RateLimitNextCalls"/>; true when this call is to be refused.</summary>
    internal bool TakeRateLimit()
    {
        while (true)
        {
            var left = Volatile.Read(ref RateLimitNextCalls);
            if (left <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref RateLimitNextCalls, left - 1, left) == left)
            {
                return true;
            }
        }
    }

    internal void Record(HubCall call) => _calls.Enqueue(call);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
