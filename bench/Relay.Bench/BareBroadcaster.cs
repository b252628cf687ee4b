using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Relay.Client.Protocol;

namespace Relay.Bench;

/// <summary>
/// The limit reference of the throughput scenario (issue #22): the least a server can do to deliver what Relay
/// delivers. One PocketBase stream (no token) for one topic; each event becomes one SignalR JSON <c>Event</c> frame,
/// built once (the topic spliced into PocketBase's <c>{action, record}</c>, no parse) and written to every WebSocket
/// that subscribed, each through its own queue and send loop. It speaks just enough of the hub protocol for the lean
/// clients: the handshake, completions for their invocations, nothing else — no negotiate, no auth, no filter, no
/// history, no limits. Relay's CPU per delivery divided by this process's, in the same run and step, says what Relay's
/// features cost over the bare send.
/// </summary>
/// <remarks><c>Relay.Bench --bare-broadcaster --pocketbase URL --port N [--topic bench_public/*]</c>; prints <c>ready</c>, stops on <c>quit</c> or end of stdin.</remarks>
internal static class BareBroadcaster
{
    private const byte RecordSeparator = 0x1e;

    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        var pocketBase = new Uri(Arg("--pocketbase") ?? throw new ArgumentException("--bare-broadcaster needs --pocketbase"));
        var port = int.Parse(Arg("--port") ?? throw new ArgumentException("--bare-broadcaster needs --port"), CultureInfo.InvariantCulture);
        var topic = Arg("--topic") ?? "bench_public/*";

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.UseWebSockets();
        var subscribers = new ConcurrentDictionary<Subscriber, byte>();
        app.Map(RelayProtocol.HubPath, async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var subscriber = new Subscriber(socket);
            try
            {
                await subscriber.RunAsync(() => subscribers.TryAdd(subscriber, 0), context.RequestAborted);
            }
            finally
            {
                subscribers.TryRemove(subscriber, out _);
            }
        });
        await app.StartAsync();

        using var stop = new CancellationTokenSource();
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var following = FollowAsync(pocketBase, topic, subscribers, connected, stop.Token);
        await Task.WhenAny(connected.Task, following);
        await connected.Task; // a failed start surfaces here
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
        }

        await stop.CancelAsync();
        await following.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await app.StopAsync();
        return 0;
    }

    private static async Task FollowAsync(Uri pocketBase, string topic, ConcurrentDictionary<Subscriber, byte> subscribers, TaskCompletionSource connected, CancellationToken stop)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = pocketBase, Timeout = Timeout.InfiniteTimeSpan };
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/realtime");
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(stop);
            var prefix = Encoding.UTF8.GetBytes($$"""{"type":1,"target":"Event","arguments":[{"topic":{{JsonSerializer.Serialize(topic)}},""");
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(stop))
            {
                if (item.EventType == "PB_CONNECT")
                {
                    using var hello = JsonDocument.Parse(item.Data);
                    var clientId = hello.RootElement.GetProperty("clientId").GetString();
                    using var subscribe = await http.PostAsJsonAsync("api/realtime", new { clientId, subscriptions = new[] { topic } }, stop);
                    subscribe.EnsureSuccessStatusCode();
                    connected.TrySetResult();
                    continue;
                }

                if (item.EventType != topic)
                {
                    continue;
                }

                // {"action":..,"record":..} -> prefix + "action":..,"record":..} + "]}" + RS: one frame for everyone.
                var data = Encoding.UTF8.GetBytes(item.Data);
                var frame = new byte[prefix.Length + data.Length - 1 + 3];
                prefix.CopyTo(frame, 0);
                data.AsSpan(1).CopyTo(frame.AsSpan(prefix.Length));
                "]}"u8.CopyTo(frame.AsSpan(prefix.Length + data.Length - 1));
                frame[^1] = RecordSeparator;
                foreach (var subscriber in subscribers.Keys)
                {
                    subscriber.Enqueue(frame);
                }
            }
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            connected.TrySetException(ex);
            throw;
        }
    }

    /// <summary>
    /// One WebSocket: reads the client's hub messages. A frame is sent at once on the caller's thread when nothing is
    /// being sent (as Relay's <c>RelayConnection</c> writes), else queued for whoever is sending; a send that does not
    /// complete at once is awaited on the thread pool, which then sends what queued meanwhile. Until 2026-12-07 16:10 UTC
    /// every frame went through a channel to a send loop per connection: one thread-pool wake-up per delivery more.
    /// </summary>
    private sealed class Subscriber(WebSocket socket)
    {
        private readonly ConcurrentQueue<byte[]> _queue = new();
        private int _sending;
        private volatile bool _closed;

        public void Enqueue(byte[] frame)
        {
            if (_closed)
            {
                return;
            }

            _queue.Enqueue(frame);
            if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
            {
                Drain();
            }
        }

        public async Task RunAsync(Func<bool> subscribed, CancellationToken aborted)
        {
            try
            {
                await ReceiveAsync(subscribed, aborted);
            }
            finally
            {
                _closed = true;
            }
        }

        /// <summary>Owner only: sends while sends complete at once; the first that does not is continued on the thread pool.</summary>
        private void Drain()
        {
            do
            {
                while (_queue.TryDequeue(out var frame))
                {
                    var send = socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                    if (!send.IsCompletedSuccessfully)
                    {
                        _ = ContinueAsync(send);
                        return;
                    }
                }

                Volatile.Write(ref _sending, 0);
            }
            while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _sending, 1, 0) == 0);
        }

        private async Task ContinueAsync(ValueTask send)
        {
            try
            {
                await send;
            }
            catch (Exception)
            {
                // The connection is gone: nothing is sent to it again (the right to send is kept).
                _closed = true;
                return;
            }

            Drain();
        }

        private async Task ReceiveAsync(Func<bool> subscribed, CancellationToken aborted)
        {
            var buffer = new byte[16 * 1024];
            var buffered = 0;
            var handshaken = false;
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(buffered), aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, aborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    return;
                }

                buffered += result.Count;
                int end;
                var start = 0;
                while ((end = Array.IndexOf(buffer, RecordSeparator, start, buffered - start)) >= 0)
                {
                    if (!handshaken)
                    {
                        handshaken = true;
                        Enqueue([.. "{}"u8, RecordSeparator]);
                    }
                    else
                    {
                        using var message = JsonDocument.Parse(buffer.AsMemory(start, end - start));
                        var root = message.RootElement;
                        if (root.GetProperty("type").GetInt32() == 1 && root.TryGetProperty("invocationId", out var id))
                        {
                            if (root.GetProperty("target").ValueEquals(nameof(IRelayHub.Subscribe)))
                            {
                                subscribed();
                            }

                            Enqueue(Encoding.UTF8.GetBytes($$"""{"type":3,"invocationId":{{JsonSerializer.Serialize(id.GetString())}},"result":null}""" + "\u001e"));
                        }
                    }

                    start = end + 1;
                }

                buffer.AsSpan(start, buffered - start).CopyTo(buffer);
                buffered -= start;
                if (buffered == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
            }
        }
    }
}
