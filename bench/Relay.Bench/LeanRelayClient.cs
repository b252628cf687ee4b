using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessagePack;
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
internal sealed class LeanRelayClient : IBenchClient
{
    private const byte RecordSeparator = 0x1e;
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(15);

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
        try
        {
            await socket.ConnectAsync(url, CancellationToken.None);
            var handshake = Encoding.UTF8.GetBytes($$"""{"protocol":"{{(messagePack ? "messagepack" : "json")}}","version":1}""" + "\u001e");
            await socket.SendAsync(handshake, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            await client.ReadHandshakeAsync();
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
        var id = Interlocked.Increment(ref _nextInvocationId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending)
        {
            _pending[id] = completion;
        }

        await SendAsync(_messagePack ? MessagePackInvocation(id, nameof(IRelayHub.Subscribe), topic) : JsonInvocation(id, nameof(IRelayHub.Subscribe), topic));
        await completion.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        // Close first, so Relay sees a normal close (cancelling a pending receive would abort the socket).
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

    private async Task ReadHandshakeAsync()
    {
        // The handshake response is JSON text ending in a record separator whatever the protocol: {} or {"error":"..."}.
        while (true)
        {
            if (!await ReceiveFrameAsync(CancellationToken.None))
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
            // Its deliveries stop here and the row shows them missing; say why.
            Console.Error.WriteLine($"  a lean client stopped reading: {ex.GetType().Name}: {ex.Message}");
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

    /// <summary>Handles every complete JSON hub message in the buffer; returns the bytes they took.</summary>
    private int ParseJson()
    {
        var start = 0;
        int end;
        while ((end = Array.IndexOf(_buffer, RecordSeparator, start, _buffered - start)) >= 0)
        {
            using var message = JsonDocument.Parse(_buffer.AsMemory(start, end - start));
            var root = message.RootElement;
            switch (root.GetProperty("type").GetInt32())
            {
                case 1 when root.GetProperty("target").ValueEquals(nameof(IRelayClient.Event)):
                    _sink.Deliver(root.GetProperty("arguments")[0].GetProperty("record"));
                    break;
                case 1 when root.GetProperty("target").ValueEquals(nameof(IRelayClient.Events)):
                    foreach (var e in root.GetProperty("arguments")[0].EnumerateArray())
                    {
                        _sink.Deliver(e.GetProperty("record"));
                    }

                    break;
                case 3:
                    Complete(root.GetProperty("invocationId").GetString()!, root.TryGetProperty("error", out var error) ? error.GetString() : null);
                    break;
                case 7:
                    FailPending(new InvalidOperationException($"Relay closed the connection: {(root.TryGetProperty("error", out var reason) ? reason.GetString() : "no error")}"));
                    break;
            }

            start = end + 1;
        }

        return start;
    }

    /// <summary>Handles every complete MessagePack hub message (each prefixed by its length as a VarInt) in the buffer.</summary>
    private int ParseMessagePack()
    {
        var start = 0;
        while (TryReadLength(start, out var length, out var prefix) && start + prefix + length <= _buffered)
        {
            var reader = new MessagePackReader(new ReadOnlyMemory<byte>(_buffer, start + prefix, length));
            var fields = reader.ReadArrayHeader();
            switch (reader.ReadInt32())
            {
                case 1:
                    reader.Skip(); // headers
                    reader.Skip(); // invocation id (none: the server expects no answer)
                    var target = reader.ReadString();
                    reader.ReadArrayHeader();
                    if (target == nameof(IRelayClient.Event))
                    {
                        ReadEvent(ref reader);
                    }
                    else if (target == nameof(IRelayClient.Events))
                    {
                        for (var count = reader.ReadArrayHeader(); count > 0; count--)
                        {
                            ReadEvent(ref reader);
                        }
                    }

                    break;
                case 3:
                    reader.Skip(); // headers
                    var id = reader.ReadString()!;
                    Complete(id, fields > 3 && reader.ReadInt32() == 1 ? reader.ReadString() : null);
                    break;
                case 7:
                    FailPending(new InvalidOperationException($"Relay closed the connection: {(reader.TryReadNil() ? "no error" : reader.ReadString())}"));
                    break;
            }

            start += prefix + length;
        }

        return start;
    }

    /// <summary>
    /// One <see cref="RelayEvent"/> map, every token of it read as a JSON parser reads every token of the JSON path's
    /// message (strings as UTF-8 spans of the buffer, as <see cref="JsonDocument"/> keeps them): the record's
    /// <c>sentAt</c> goes to the sink. No conversion to JSON, which a MessagePack client has no reason to make.
    /// </summary>
    private void ReadEvent(ref MessagePackReader reader)
    {
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            if (ReadKey(ref reader, "record"u8) && reader.NextMessagePackType == MessagePackType.Map)
            {
                double? sentAt = null;
                for (var recordFields = reader.ReadMapHeader(); recordFields > 0; recordFields--)
                {
                    if (ReadKey(ref reader, "sentAt"u8) && reader.NextMessagePackType is MessagePackType.Float or MessagePackType.Integer)
                    {
                        sentAt = reader.NextMessagePackType == MessagePackType.Float ? reader.ReadDouble() : reader.ReadInt64();
                    }
                    else
                    {
                        ReadValue(ref reader);
                    }
                }

                if (sentAt is { } value)
                {
                    _sink(value);
                }
            }
            else
            {
                ReadValue(ref reader);
            }
        }
    }

    /// <summary>Reads a map key and compares it (the message is one contiguous buffer, so the key is one segment of it).</summary>
    private static bool ReadKey(ref MessagePackReader reader, ReadOnlySpan<byte> expected)
        => reader.ReadStringSequence() is { IsSingleSegment: true } key && key.FirstSpan.SequenceEqual(expected);

    /// <summary>Reads one value and everything in it (a scalar's header and bytes).</summary>
    private static void ReadValue(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                for (var count = reader.ReadMapHeader() * 2; count > 0; count--)
                {
                    ReadValue(ref reader);
                }

                break;
            case MessagePackType.Array:
                for (var count = reader.ReadArrayHeader(); count > 0; count--)
                {
                    ReadValue(ref reader);
                }

                break;
            default:
                reader.Skip();
                break;
        }
    }

    private bool TryReadLength(int start, out int length, out int prefix)
    {
        length = 0;
        for (prefix = 0; prefix < 5 && start + prefix < _buffered; prefix++)
        {
            var b = _buffer[start + prefix];
            length |= (b & 0x7f) << (7 * prefix);
            if ((b & 0x80) == 0)
            {
                prefix++;
                return true;
            }
        }

        return false;
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
                await SendAsync(_messagePack ? [0x02, 0x91, 0x06] : """{"type":6}"""u8.ToArray().Append(RecordSeparator).ToArray());
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
        var json = JsonSerializer.SerializeToUtf8Bytes(new { type = 1, invocationId = id, target, arguments = new object?[] { argument, null } });
        return [.. json, RecordSeparator];
    }

    private static byte[] MessagePackInvocation(string id, string target, string argument)
    {
        var body = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(5);
        writer.Write(1);
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
