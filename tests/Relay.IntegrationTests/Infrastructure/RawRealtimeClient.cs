using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A PocketBase realtime client of its own, straight to PocketBase (no Relay), from a chosen local address: what the
/// official SDK does, so a test can show what PocketBase itself does (close a stream, refuse a POST) beside Relay.
/// </summary>
public sealed class RawRealtimeClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<(string Topic, JsonElement Data)> _messages = Channel.CreateUnbounded<(string, JsonElement)>();
    private readonly Task _reader;
    private readonly TaskCompletionSource<DateTime> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RawRealtimeClient(HttpClient http, HttpResponseMessage response, string clientId, Stream body)
    {
        _http = http;
        _response = response;
        ClientId = clientId;
        OpenedAt = DateTime.UtcNow;
        _reader = Task.Run(() => ReadAsync(body));
    }

    public string ClientId { get; }

    public DateTime OpenedAt { get; }

    /// <summary>Completes with the time the stream ended (PocketBase closed it, or it failed).</summary>
    public Task<DateTime> Closed => _closed.Task;

    public ChannelReader<(string Topic, JsonElement Data)> Messages => _messages.Reader;

    /// <summary>Opens <c>GET /api/realtime</c> from <paramref name="localAddress"/> (null: the system's choice) and waits for <c>PB_CONNECT</c>.</summary>
    public static async Task<RawRealtimeClient> OpenAsync(Uri pocketBase, IPAddress? localAddress = null)
    {
        var http = CreateHttpClient(pocketBase, localAddress);
        try
        {
            var response = await http.GetAsync("api/realtime", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
            var enumerator = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
            Assert.True(await enumerator.MoveNextAsync().AsTask().DefaultTimeout(), "PocketBase closed the stream before PB_CONNECT");
            Assert.Equal("PB_CONNECT", enumerator.Current.EventType);
            var clientId = JsonDocument.Parse(enumerator.Current.Data).RootElement.GetProperty("clientId").GetString()!;
            await enumerator.DisposeAsync();
            return new RawRealtimeClient(http, response, clientId, body);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>An HttpClient for PocketBase whose connections leave from <paramref name="localAddress"/> (any loopback address works on Linux).</summary>
    public static HttpClient CreateHttpClient(Uri pocketBase, IPAddress? localAddress)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) };
        if (localAddress is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(localAddress, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return new HttpClient(handler) { BaseAddress = pocketBase, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Sets this client's subscriptions with <paramref name="http"/> (another address, if it was made so); returns PocketBase's status.</summary>
    public async Task<HttpStatusCode> SubscribeAsync(IReadOnlyList<string> topics, string? token = null, HttpClient? http = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/realtime")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { clientId = ClientId, subscriptions = topics }),
        };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        using var response = await (http ?? _http).SendAsync(request, cts.Token);
        return response.StatusCode;
    }

    private async Task ReadAsync(Stream body)
    {
        try
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(_stop.Token))
            {
                _messages.Writer.TryWrite((item.EventType, JsonDocument.Parse(item.Data).RootElement.Clone()));
            }
        }
        catch (Exception) when (!_stop.IsCancellationRequested)
        {
            // A reset ends the stream as surely as a clean close; the test reads when.
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _closed.TrySetResult(DateTime.UtcNow);
            _messages.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
        _stop.Dispose();
    }
}
