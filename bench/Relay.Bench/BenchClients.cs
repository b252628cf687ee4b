using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;

namespace Relay.Bench;

internal interface IBenchClient : IAsyncDisposable
{
    Task SubscribeAsync(string topic);
}

internal static class BenchClients
{
    /// <summary><c>lean</c> (default): <see cref="LeanRelayClient"/>; <c>signalr</c>: the SignalR .NET client (<see cref="RelayBenchClient"/>).</summary>
    public const string Lean = "lean";

    public const string SignalR = "signalr";

    /// <summary>Which client the Relay paths use; set once from <c>--clients</c>, and passed on to the clients process.</summary>
    public static string Kind { get; private set; } = Lean;

    /// <summary>Sets <see cref="Kind"/> from a <c>--clients</c> value (none: <see cref="Lean"/>); false for an unknown one.</summary>
    public static bool TrySetKind(string? value)
    {
        if (value is not (null or Lean or SignalR))
        {
            return false;
        }

        Kind = value ?? Lean;
        return true;
    }

    public static async Task<List<IBenchClient>> ConnectAllAsync(string path, Uri url, IReadOnlyList<(string? Token, string Topic)> connections, RecordSink sink)
    {
        var clients = new IBenchClient[connections.Count];
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(connections.Select(async (connection, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var client = path == ScenarioRunner.Direct
                    ? await DirectSseClient.ConnectAsync(url, connection.Token, sink)
                    : path == ScenarioRunner.Bare
                        ? await LeanRelayClient.ConnectAsync(url, connection.Token, messagePack: false, sink) // it speaks only enough for these
                    : Kind == SignalR
                        ? await RelayBenchClient.ConnectAsync(url, connection.Token, path == ScenarioRunner.RelayMessagePack, sink)
                        : await LeanRelayClient.ConnectAsync(url, connection.Token, path == ScenarioRunner.RelayMessagePack, sink);
                await client.SubscribeAsync(connection.Topic);
                clients[i] = client;
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. clients];
    }

    public static async Task DisconnectAllAsync(List<IBenchClient> clients)
    {
        using var gate = new SemaphoreSlim(128);
        await Task.WhenAll(clients.Select(async client =>
        {
            await gate.WaitAsync();
            try
            {
                await client.DisposeAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}

/// <summary>A SignalR client of Relay over WebSockets, JSON or MessagePack, as a browser tab would hold one.</summary>
internal sealed class RelayBenchClient : IBenchClient
{
    private readonly HubConnection _hub;

    private RelayBenchClient(HubConnection hub) => _hub = hub;

    /// <summary>Connects as a protocol-2 client (as both Relay clients now are): it accepts <c>Events</c> batches as well as <c>Event</c>.</summary>
    public static async Task<IBenchClient> ConnectAsync(Uri relay, string? token, bool messagePack, RecordSink sink)
    {
        var url = new UriBuilder(new Uri(relay, RelayProtocol.HubPath)) { Query = $"{RelayProtocol.VersionParameter}={RelayProtocol.Version}" }.Uri;
        var builder = new HubConnectionBuilder().WithUrl(url, options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol(options => options.SerializerOptions = RelayMessagePack.SerializerOptions);
        }

        var hub = builder.Build();
        hub.ServerTimeout = TimeSpan.FromMinutes(2);
        hub.On<RelayEvent>(nameof(IRelayClient.Event), e => sink.Deliver(e.Record));
        hub.On<RelayEvent[]>(nameof(IRelayClient.Events), events =>
        {
            foreach (var e in events)
            {
                sink.Deliver(e.Record);
            }
        });
        await hub.StartAsync();
        return new RelayBenchClient(hub);
    }

    public Task SubscribeAsync(string topic) => _hub.InvokeAsync(nameof(IRelayHub.Subscribe), topic, null);

    public ValueTask DisposeAsync() => _hub.DisposeAsync();
}

/// <summary>A client subscribing to PocketBase directly over SSE, as every tab does without Relay: the baseline.</summary>
internal sealed class DirectSseClient : IBenchClient
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = int.MaxValue,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly Uri _pocketBase;
    private readonly string? _token;
    private readonly string _clientId;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _topics = [];
    private Task _reading = Task.CompletedTask;

    private DirectSseClient(Uri pocketBase, string? token, string clientId, HttpResponseMessage response)
    {
        _pocketBase = pocketBase;
        _token = token;
        _clientId = clientId;
        _response = response;
    }

    public static async Task<IBenchClient> ConnectAsync(Uri pocketBase, string? token, RecordSink sink)
    {
        var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(pocketBase, "api/realtime")), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var stream = await response.Content.ReadAsStreamAsync();
        var items = SseParser.Create(stream, static (type, data) => (Type: type, Data: data.ToArray())).EnumerateAsync().GetAsyncEnumerator();
        if (!await items.MoveNextAsync() || items.Current.EventType != "PB_CONNECT")
        {
            throw new InvalidOperationException("PocketBase did not send PB_CONNECT.");
        }

        using var connect = JsonDocument.Parse(items.Current.Data.Data);
        var client = new DirectSseClient(pocketBase, token, connect.RootElement.GetProperty("clientId").GetString()!, response);
        client._reading = client.ReadAsync(items, sink);
        return client;
    }

    public async Task SubscribeAsync(string topic)
    {
        _topics.Add(topic);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_pocketBase, "api/realtime"))
        {
            Content = JsonContent.Create(new { clientId = _clientId, subscriptions = _topics }),
        };
        if (_token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _token);
        }

        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task ReadAsync(IAsyncEnumerator<SseItem<(string Type, byte[] Data)>> items, RecordSink sink)
    {
        try
        {
            while (await items.MoveNextAsync())
            {
                using var message = JsonDocument.Parse(items.Current.Data.Data);
                if (message.RootElement.TryGetProperty("record", out var record))
                {
                    sink.Deliver(record);
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
    }
}
