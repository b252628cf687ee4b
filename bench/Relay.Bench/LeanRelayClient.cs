using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessagePack;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;

namespace Relay.Bench;

/// <summary>
/// A Relay client as lean as the direct path's SSE client: one <see cref="ClientWebSocket"/> speaking the SignalR hub
/// protocol (JSON or MessagePack) itself and reading every delivered message whole (JSON: parsed into a
/// <see cref="JsonDocument"/>, as the SSE client parses PocketBase's messages; MessagePack: every token read), but
/// without the SignalR client's pipes, invocation binding, argument deserialization and handler dispatch.
/// </summary>
/// <remarks>
/// The benchmark measures a server. Its clients share the server's two cores, so a client that costs more than the
/// server per delivery (the SignalR client: 12–23 µs) decides the tail latency of every Relay row while the direct
/// path's clients read SSE text; with this client both paths' clients do the same kind of work. <c>--clients signalr</c>
/// keeps the full SignalR client.
/// </remarks>
internal sealed partial class LeanRelayClient : IBenchClient
{
    private const byte RecordSeparator = 0x1e;
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(15);
    private static readonly byte[] JsonPing = [.. """{"type":6}"""u8, RecordSeparator];
    private static readonly byte[] MessagePackPing = [0x02, 0x91, HubProtocolConstants.PingMessageType]; // length 2, [6]

    private readonly ClientWebSocket _socket;
    private readonly bool _messagePack;
    private readonly RecordSink _sink;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Dictionary<string, TaskCompletionSource> _pending = [];
    private byte[] _buffer = new byte[16 * 1024];
    private int _buffered;
    private int _nextInvocationId;
    private Task _reading = Task.CompletedTask;
    private Task _pinging = Task.CompletedTask;
    private volatile bool _closing;

    private LeanRelayClient(ClientWebSocket socket, bool messagePack, RecordSink sink)
    {
        _socket = socket;
        _messagePack = messagePack;
        _sink = sink;
    }

    public static async Task<IBenchClient> ConnectAsync(Uri relay, string? token, bool messagePack, RecordSink sink)
    {
        var query = $"{RelayProtocol.VersionParameter}={RelayProtocol.Version}"
            + (token is null ? string.Empty : $"&{RelayProtocol.AccessTokenParameter}={Uri.EscapeDataString(token)}");
        var url = new UriBuilder(new Uri(relay, RelayProtocol.HubPath)) { Scheme = relay.Scheme == "https" ? "wss" : "ws", Query = query }.Uri;
        var socket = new ClientWebSocket();
        var client = new LeanRelayClient(socket, messagePack, sink);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await socket.ConnectAsync(url, timeout.Token);
            var handshake = Encoding.UTF8.GetBytes($$"""{"protocol":"{{(messagePack ? "messagepack" : "json")}}","version":1}""" + "\u001e");
            await socket.SendAsync(handshake, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            await client.ReadHandshakeAsync(timeout.Token);
            client._reading = client.ReadAsync();
            client._pinging = client.PingAsync();
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task SubscribeAsync(string topic)
    {
        var id = Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending)
        {
            _pending[id] = completion;
        }

        try
        {
            if (_reading.IsCompleted)
            {
                throw new InvalidOperationException("The connection to Relay is closed.");
            }

            await SendAsync(_messagePack ? MessagePackInvocation(id, nameof(IRelayHub.Subscribe), topic) : JsonInvocation(id, nameof(IRelayHub.Subscribe), topic));
            await completion.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            lock (_pending)
            {
                _pending.Remove(id);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close first, so Relay sees a normal close (cancelling a pending receive would abort the socket).
        _closing = true;
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                await _reading.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Closing anyway.
        }

        await _stop.CancelAsync();
        _socket.Abort();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _pinging.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReadHandshakeAsync(CancellationToken cancellationToken)
    {
        // The handshake response is JSON text ending in a record separator whatever the protocol: {} or {"error":"..."}.
        while (true)
        {
            if (!await ReceiveFrameAsync(cancellationToken))
            {
                throw new InvalidOperationException("Relay closed the connection during the handshake.");
            }

            var end = Array.IndexOf(_buffer, RecordSeparator, 0, _buffered);
            if (end < 0)
            {
                continue;
            }

            using var response = JsonDocument.Parse(_buffer.AsMemory(0, end));
            if (response.RootElement.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException($"Relay refused the handshake: {error.GetString()}");
            }

            Consume(end + 1);
            return;
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var consumed = _messagePack ? ParseMessagePack() : ParseJson();
                Consume(consumed);
                if (!await ReceiveFrameAsync(_stop.Token))
                {
                    break;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex)
        {
            Stopped($"{ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            FailPending(new InvalidOperationException("The connection to Relay closed."));
        }
    }

    /// <summary>Appends one WebSocket message to the buffer; false when the server closed.</summary>
    private async Task<bool> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_buffer.Length - _buffered < 4096)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(_buffered), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                Stopped($"Relay closed the WebSocket ({_socket.CloseStatus} {_socket.CloseStatusDescription})");
                return false;
            }

            _buffered += result.Count;
            if (result.EndOfMessage)
            {
                return true;
            }
        }
    }

    private void Consume(int count)
    {
        if (count > 0)
        {
            Buffer.BlockCopy(_buffer, count, _buffer, 0, _buffered - count);
            _buffered -= count;
        }
    }

    /// <summary>Its deliveries stop here and the row shows them missing; says why (unless the bench is closing it).</summary>
    private void Stopped(string why)
    {
        if (!_closing)
        {
            Console.Error.WriteLine($"  a lean client stopped reading: {why}");
        }
    }

    private void Complete(string invocationId, string? error)
    {
        TaskCompletionSource? completion;
        lock (_pending)
        {
            _pending.Remove(invocationId, out completion);
        }

        if (error is null)
        {
            completion?.TrySetResult();
        }
        else
        {
            completion?.TrySetException(new InvalidOperationException($"Relay refused the call: {error}"));
        }
    }

    private void FailPending(Exception exception)
    {
        lock (_pending)
        {
            foreach (var completion in _pending.Values)
            {
                completion.TrySetException(exception);
            }

            _pending.Clear();
        }
    }

    /// <summary>The server closes a connection it has not heard from for 30 s (SignalR's client timeout).</summary>
    private async Task PingAsync()
    {
        using var timer = new PeriodicTimer(PingInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await SendAsync(_messagePack ? MessagePackPing : JsonPing);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private async Task SendAsync(byte[] message)
    {
        await _sendLock.WaitAsync(_stop.Token);
        try
        {
            await _socket.SendAsync(message, _messagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private static byte[] JsonInvocation(string id, string target, string argument)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new { type = HubProtocolConstants.InvocationMessageType, invocationId = id, target, arguments = new object?[] { argument, null } });
        return [.. json, RecordSeparator];
    }

    private static byte[] MessagePackInvocation(string id, string target, string argument)
    {
        var body = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(5);
        writer.Write(HubProtocolConstants.InvocationMessageType);
        writer.WriteMapHeader(0);
        writer.Write(id);
        writer.Write(target);
        writer.WriteArrayHeader(2);
        writer.Write(argument);
        writer.WriteNil();
        writer.Flush();
        var message = new List<byte>();
        for (var length = (uint)body.WrittenCount; ; length >>= 7)
        {
            message.Add((byte)(length < 0x80 ? length : (length & 0x7f) | 0x80));
            if (length < 0x80)
            {
                break;
            }
        }

        message.AddRange(body.WrittenSpan.ToArray());
        return [.. message];
    }
}
