using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>
/// Recovery: a guest client drops, <c>missed</c> events are written while it is away, it reconnects (to the same
/// instance, or another one) and subscribes again with <c>since</c> = the last offset it saw. Measured: from the start
/// of the reconnect (a new WebSocket, handshake, <c>SubscribeMany</c>) to the last missed event received.
/// A "holder" guest connection stays on each instance so the guest session (and its history) outlives the drop.
/// </summary>
internal static class RecoveryBench
{
    private const string Topic = "bench_public/*";

    public static async Task<string> RunAsync(PocketBaseAdmin admin, Uri first, Uri again, int rounds, int missed, string label)
    {
        await using var holderFirst = await Client.ConnectAsync(first);
        await holderFirst.SubscribeAsync(null);
        await using var holderAgain = first == again ? null : await Client.ConnectAsync(again);
        if (holderAgain is not null)
        {
            await holderAgain.SubscribeAsync(null);
        }

        var times = new List<double>();
        int recovered = 0, complete = 0, inOrder = 0, resyncs = 0;
        for (var round = 0; round < rounds; round++)
        {
            string? offset;
            await using (var client = await Client.ConnectAsync(first))
            {
                offset = (await client.SubscribeAsync(null)).Offset;
                var marker = $"before {round}";
                await admin.CreateRecordAsync("bench_public", new { title = marker, sentAt = Clock.NowMicroseconds() });
                var seen = await client.WaitForAsync(marker, TimeSpan.FromSeconds(30));
                offset = seen?.Offset ?? offset;
            }

            var titles = Enumerable.Range(0, missed).Select(i => $"missed {round}.{i}").ToList();
            foreach (var title in titles)
            {
                await admin.CreateRecordAsync("bench_public", new { title, sentAt = Clock.NowMicroseconds() });
            }

            // Every missed event reached the instance(s) (and so the history) before the client comes back.
            await holderFirst.WaitForAsync(titles[^1], TimeSpan.FromSeconds(30));
            if (holderAgain is not null)
            {
                await holderAgain.WaitForAsync(titles[^1], TimeSpan.FromSeconds(30));
            }

            var clock = Stopwatch.StartNew();
            await using var back = await Client.ConnectAsync(again);
            var result = await back.SubscribeAsync(offset);
            var last = await back.WaitForAsync(titles[^1], TimeSpan.FromSeconds(result.Recovered ? 30 : 3));
            var elapsed = clock.Elapsed.TotalMilliseconds;
            recovered += result.Recovered ? 1 : 0;
            resyncs += back.Resyncs;
            if (last is not null)
            {
                complete++;
                times.Add(elapsed);
                // PocketBase does not order rapid successive events (one goroutine per message): the reference is the
                // order Relay read them in, as the holder connection received them live.
                var prefix = $"missed {round}.";
                var upstreamOrder = holderFirst.Titles.Where(t => t.StartsWith(prefix, StringComparison.Ordinal)).ToList();
                var received = back.Titles.Where(t => t.StartsWith("missed ", StringComparison.Ordinal)).ToList();
                if (received.SequenceEqual(upstreamOrder) && received.Count == titles.Count)
                {
                    inOrder++;
                }
                else
                {
                    Console.Error.WriteLine($"  recovery ({label}) round {round}: expected {titles.Count} missed events in the holder's order ({string.Join(", ", upstreamOrder.Select(t => t[7..]))}), received {received.Count}: {string.Join(", ", received.Select(t => t[7..]))}");
                }
            }
        }

        times.Sort();
        string Ms(double p) => times.Count == 0 ? "—" : times[Math.Min(times.Count - 1, (int)Math.Ceiling(p * times.Count) - 1)].ToString("0.0", CultureInfo.InvariantCulture);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"- recovery, {label}: {rounds} reconnects, {missed} events missed each; recovered {recovered}/{rounds}, all missed events received {complete}/{rounds} (each exactly once, in the order the live holder connection got them: {inOrder}/{rounds}), Resync {resyncs}; reconnect → last missed event: p50 {Ms(0.5)} ms, max {Ms(1.0)} ms");
    }

    private sealed class Client : IAsyncDisposable
    {
        private readonly HubConnection _hub;
        private readonly Channel<RelayEvent> _events = Channel.CreateUnbounded<RelayEvent>();
        private int _resyncs;

        private Client(HubConnection hub) => _hub = hub;

        public List<string> Titles { get; } = [];

        public int Resyncs => Volatile.Read(ref _resyncs);

        public static async Task<Client> ConnectAsync(Uri relay)
        {
            var url = new UriBuilder(new Uri(relay, RelayProtocol.HubPath)) { Query = $"{RelayProtocol.VersionParameter}={RelayProtocol.Version}" }.Uri;
            var hub = new HubConnectionBuilder().WithUrl(url, options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            }).Build();
            var client = new Client(hub);
            hub.On<RelayEvent>(nameof(IRelayClient.Event), e => client._events.Writer.TryWrite(e));
            hub.On<RelayEvent[]>(nameof(IRelayClient.Events), events =>
            {
                foreach (var e in events)
                {
                    client._events.Writer.TryWrite(e);
                }
            });
            hub.On<ResyncSignal>(nameof(IRelayClient.Resync), _ => Interlocked.Increment(ref client._resyncs));
            await hub.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
            return client;
        }

        public async Task<SubscribeResult> SubscribeAsync(string? since)
        {
            var results = await _hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[] { new SubscribeRequest { Topic = Topic, Since = since } }).WaitAsync(TimeSpan.FromSeconds(60));
            return results[0].IsSuccess ? results[0] : throw new InvalidOperationException($"SubscribeMany: {results[0].Error} {results[0].Message}");
        }

        /// <summary>Reads events until the one titled <paramref name="title"/>; null if it did not come in time.</summary>
        public async Task<RelayEvent?> WaitForAsync(string title, TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                while (true)
                {
                    var e = await _events.Reader.ReadAsync(cancel.Token);
                    var t = e.Record.ValueKind == JsonValueKind.Object && e.Record.TryGetProperty("title", out var p) ? p.GetString() ?? string.Empty : string.Empty;
                    Titles.Add(t);
                    if (t == title)
                    {
                        return e;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        public ValueTask DisposeAsync() => _hub.DisposeAsync();
    }
}
