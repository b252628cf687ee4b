using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>One client stops reading while 10,000 events flow: nobody else notices, and Relay's memory stays bounded.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SlowClientTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Events = 10_000;

    [Fact]
    public async Task StuckClient_DuringTenThousandEvents_OthersUnaffected_MemoryBounded_StuckClientResyncedOrClosed()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Fanout:StuckTimeout"] = "00:00:02" });
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var overflows = new MetricCollector<long>(meters, "Relay", "relay.outbound.overflows");
        using var aborts = new MetricCollector<long>(meters, "Relay", "relay.outbound.aborts");

        using var stuck = await ConnectStuckClientAsync(relay);
        var healthy = new[] { await relay.ConnectAsync(token: null), await relay.ConnectAsync(pocketBase.Alice.Token) };
        foreach (var client in healthy)
        {
            await client.SubscribeAsync("announcements/*");
        }

        var started = new ConcurrentDictionary<string, long>();
        var latencies = healthy.Select(_ => new ConcurrentBag<double>()).ToArray();
        var received = healthy.Select(_ => new ConcurrentDictionary<string, int>()).ToArray();
        for (var i = 0; i < healthy.Length; i++)
        {
            var index = i;
            healthy[i].Hub.On<RelayEvent>(nameof(IRelayClient.Event), e =>
            {
                var id = e.Record.GetProperty("id").GetString()!;
                received[index].AddOrUpdate(id, 1, (_, n) => n + 1);
                if (started.TryGetValue(id, out var at))
                {
                    latencies[index].Add(Stopwatch.GetElapsedTime(at).TotalMilliseconds);
                }
            });
        }

        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                await Task.Delay(100);
            }
        });

        // 10,000 creates, 8 at a time, with ids chosen up front so latency is measured from before each request.
        var flood = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Events), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var id = $"flood{i:D10}";
            started[id] = Stopwatch.GetTimestamp();
            await pocketBase.Admin.CreateRecordAsync("announcements", new { id, title = $"flood {i} " + new string('x', 200) }, cancellationToken: ct);
        }).WaitAsync(TimeSpan.FromMinutes(5));
        var floodSeconds = flood.Elapsed.TotalSeconds;

        for (var i = 0; i < healthy.Length; i++)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (received[i].Count < Events && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal(Events, received[i].Count);
            Assert.All(received[i].Values, count => Assert.Equal(1, count));
        }

        await sampling.CancelAsync();
        await sampler;

        var resyncedOrClosed = await ReadUntilResyncOrCloseAsync(stuck);
        var overflowCount = overflows.GetMeasurementSnapshot().Sum(m => m.Value);
        var abortCount = aborts.GetMeasurementSnapshot().Sum(m => m.Value);
        Assert.True(overflowCount + abortCount > 0, "the stuck client was neither resynced nor closed");
        Assert.NotNull(resyncedOrClosed);

        var sorted = latencies.SelectMany(l => l).Order().ToList();
        var line = $"stuck client during {Events} events ({floodSeconds:0.0} s, {Events / floodSeconds:0} events/s): healthy clients p50 {sorted[sorted.Count / 2]:0.0} ms, "
            + $"p99 {sorted[(int)(sorted.Count * 0.99)]:0.0} ms; managed memory baseline {baseline / 1048576.0:0} MB, peak {peak / 1048576.0:0} MB; "
            + $"stuck client: {overflowCount} overflow(s), {abortCount} abort(s), saw {resyncedOrClosed}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        // Bounded: the stuck client's backlog is capped by the queue (1,024 events), whatever the flood's size.
        Assert.True(peak - baseline < 256L * 1024 * 1024, $"managed memory grew by {(peak - baseline) / 1048576} MB");
        relay.AssertNoErrorLogs();
    }

    /// <summary>A raw WebSocket client with a 4 KB receive buffer that subscribes and then never reads again.</summary>
    private static async Task<ClientWebSocket> ConnectStuckClientAsync(RelayServer relay)
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
        var url = new UriBuilder(new Uri(relay.Url, RelayProtocol.HubPath)) { Scheme = "ws" }.Uri;
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

        return socket;
    }

    /// <summary>Reads what was queued for the stuck client; returns "resync" or "close" for what ended its backlog.</summary>
    private static async Task<string?> ReadUntilResyncOrCloseAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var tail = string.Empty;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return "close";
                }

                tail = (tail + Encoding.UTF8.GetString(buffer, 0, result.Count))[^Math.Min(4096, tail.Length + result.Count)..];
                if (tail.Contains("\"target\":\"Resync\"", StringComparison.Ordinal) && tail.Contains(ResyncReasons.Overflow, StringComparison.Ordinal))
                {
                    return "resync";
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException)
        {
            return "close";
        }

        return null;
    }

    private static Task SendAsync(ClientWebSocket socket, string text)
        => socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
}
