using System.Net;
using System.Threading.Channels;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

[Collection(PocketBaseCollection.Name)]
public sealed class ShutdownAndHealthTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Health_LiveAlways_ReadyOnlyWithPocketBase()
    {
        await using var healthy = RelayServer.Start(pocketBase.Server.Url);
        await using var orphan = RelayServer.Start(new Uri("http://127.0.0.1:9/"));
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(healthy.Url, "health/live")).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(healthy.Url, "health/ready")).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(orphan.Url, "health/live")).DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(orphan.Url, "health/ready")).DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task RelayRestart_ClientsReconnectResubscribeAndResync()
    {
        var port = Testing.PocketBase.PocketBaseServer.FreePort();
        var first = RelayServer.Start(pocketBase.Server.Url, port: port);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Url = first.Url,
            AccessTokenProvider = _ => ValueTask.FromResult<string?>(pocketBase.Alice.Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        });
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        var events = Channel.CreateUnbounded<RelayEvent>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        await using var subscription = await client.SubscribeAsync("notes/*", e => events.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        // SIGTERM-like stop: clients are told to reconnect, then a new instance comes up on the same address.
        await first.StopAsync();
        await first.DisposeAsync();
        await using var second = RelayServer.Start(pocketBase.Server.Url, port: port);

        var signal = await resyncs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(["notes/*"], signal.Topics);
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "served by the new instance", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        Assert.Equal(note.GetProperty("id").GetString(), (await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.Equal(1, second.Gauge("relay.upstream.streams"));
    }

    [Fact]
    public async Task Metrics_ExposedForPrometheus_WithTheScenariosNumbers()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var tabs = new[] { await relay.ConnectAsync(pocketBase.Alice.Token), await relay.ConnectAsync(pocketBase.Alice.Token) };
        var guest = await relay.ConnectAsync(token: null);
        foreach (var tab in tabs)
        {
            await tab.SubscribeAsync("notes/*");
        }

        await guest.SubscribeAsync("announcements/*");
        await guest.SubscribeExpectingErrorAsync("bad");
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "counted", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        foreach (var tab in tabs)
        {
            await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        }

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(relay.Url, "metrics")).DefaultTimeout();

        double Value(string series)
        {
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal) && !l.StartsWith('#'));
            Assert.True(line is not null, $"{series} missing from /metrics:\n{text}");
            return double.Parse(line![(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.Equal(3, Value("relay_connections{"));
        Assert.Equal(2, Value("relay_upstream_streams{"));
        Assert.Equal(1, Value("relay_sessions{otel_scope_name=\"Relay\",kind=\"user\"}"));
        Assert.Equal(1, Value("relay_sessions{otel_scope_name=\"Relay\",kind=\"guest\"}"));
        Assert.Equal(1, Value("relay_events_received_total{"));
        Assert.Equal(2, Value("relay_events_delivered_total{"));
        Assert.Equal(1, Value("relay_hub_errors_total{otel_scope_name=\"Relay\",code=\"invalid_topic\"}"));
        Assert.Contains("relay_delivery_lag_milliseconds_bucket", text, StringComparison.Ordinal);
        Assert.Equal(1, Value("relay_events_received_total{otel_scope_name=\"Relay\",collection=\"notes\"}"));
        Assert.Equal(2, Value("relay_events_delivered_total{otel_scope_name=\"Relay\",collection=\"notes\"}"));
        Assert.Equal(1, Value("relay_fanout_duration_milliseconds_count{"));
        Assert.Equal(0, Value("relay_outbound_queue_depth{"));
    }

    [Fact]
    public async Task Traces_OneSpanPerUpstreamEvent_CoveringItsFanOut()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Relay",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*");

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "traced", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);

        var session = $"{pocketBase.Alice.CollectionId}/{pocketBase.Alice.Id}";
        var span = Assert.Single(spans, s => s.OperationName == "relay.event" && (string?)s.GetTagItem("relay.session") == session);
        Assert.Equal("notes/*", span.GetTagItem("relay.topic"));
        Assert.Equal("create", span.GetTagItem("relay.action"));
        Assert.Equal("notes", span.GetTagItem("relay.collection"));
    }
}
