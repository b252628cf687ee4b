using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// Under a burst a connection's backlog goes out as batches: a protocol-2 client gets <c>Events</c> frames, a protocol-1
/// client the same events as single <c>Event</c> frames; both get every event once, in the same order.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BatchingTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Events = 500;

    [Fact]
    public async Task Burst_ToPausedReaders_Version2GetsEventsBatches_Version1GetsEvent_BothEveryEventOnceInTheSameOrder()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        // Raw SignalR clients with a 4 KB receive buffer that do not read during the burst, so Relay's writes back up
        // (as for a phone on a slow network). A write to a connection with none in flight goes out at once, so a backlog
        // only forms once writes stop completing: 500 events of 20 KB (10 MB) are more than SignalR's 64 KB pipe and the
        // kernel's send buffer (at most 4 MB by default on Linux) hold, so from then on each connection's queue fills
        // while its write waits.
        using var version2 = await ConnectPausedAsync(relay, version: 2);
        using var version1 = await ConnectPausedAsync(relay, version: 1);

        var ids = Enumerable.Range(0, Events).Select(i => $"burst{i:D10}").ToList();
        var padding = new string('x', 20_000);
        foreach (var id in ids)
        {
            await pocketBase.Admin.CreateRecordAsync("announcements", new { id, title = $"{id} {padding}" }).DefaultTimeout();
        }

        var received2 = await ReadEventsAsync(version2, Events);
        var received1 = await ReadEventsAsync(version1, Events);

        // Every event exactly once. PocketBase gives no order guarantee between rapid events (each is sent from its own
        // goroutine), so the order to check is the one Relay read: both connections share the guest stream and must
        // see the same sequence, batched or not.
        Assert.Equal(ids.Order(), received2.Select(e => e.Id).Order());
        Assert.Equal(ids.Order(), received1.Select(e => e.Id).Order());
        Assert.Equal(received1.Select(e => e.Id), received2.Select(e => e.Id));
        Assert.All(received1, e => Assert.Equal(nameof(IRelayClient.Event), e.Method));
        var batched = received2.Count(e => e.Method == nameof(IRelayClient.Events));
        Assert.True(batched > 0, "the protocol-2 client got no Events batch");
        output.WriteLine($"protocol 2: {batched} of {Events} events arrived in Events batches");
        relay.AssertNoErrorLogs();
    }

    private static async Task<ClientWebSocket> ConnectPausedAsync(RelayServer relay, int version)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var socket = new ClientWebSocket();
        var url = new UriBuilder(new Uri(relay.Url, RelayProtocol.HubPath)) { Scheme = "ws", Query = $"{RelayProtocol.VersionParameter}={version}" }.Uri;
        await socket.ConnectAsync(url, new HttpMessageInvoker(handler), CancellationToken.None).DefaultTimeout();
        await SendAsync(socket, "{\"protocol\":\"json\",\"version\":1}\u001e");
        await SendAsync(socket, "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[\"announcements/*\",null]}\u001e");
        var buffer = new byte[4096];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\"invocationId\":\"1\"", StringComparison.Ordinal))
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None).DefaultTimeout();
            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        Assert.DoesNotContain("\"error\"", text.ToString(), StringComparison.Ordinal);
        return socket;
    }

    /// <summary>Reads frames until <paramref name="count"/> events arrived; each event with the method that carried it.</summary>
    private static async Task<List<(string Method, string Id)>> ReadEventsAsync(ClientWebSocket socket, int count)
    {
        var events = new List<(string Method, string Id)>();
        var buffer = new byte[64 * 1024];
        var pending = new List<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (events.Count < count)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            pending.AddRange(buffer.AsSpan(0, result.Count));
            int end;
            while ((end = pending.IndexOf(0x1e)) >= 0)
            {
                using var frame = JsonDocument.Parse(pending.GetRange(0, end).ToArray());
                pending.RemoveRange(0, end + 1);
                if (!frame.RootElement.TryGetProperty("target", out var target))
                {
                    continue;
                }

                var method = target.GetString()!;
                var argument = frame.RootElement.GetProperty("arguments")[0];
                switch (method)
                {
                    case nameof(IRelayClient.Event):
                        events.Add((method, argument.GetProperty("record").GetProperty("id").GetString()!));
                        break;
                    case nameof(IRelayClient.Events):
                        Assert.True(argument.GetArrayLength() >= 2, "an Events batch must hold at least two events");
                        events.AddRange(argument.EnumerateArray().Select(e => (method, e.GetProperty("record").GetProperty("id").GetString()!)));
                        break;
                    default:
                        Assert.Fail($"Unexpected {method}: {frame.RootElement}");
                        break;
                }
            }
        }

        return events;
    }

    private static Task SendAsync(ClientWebSocket socket, string text)
        => socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
}
