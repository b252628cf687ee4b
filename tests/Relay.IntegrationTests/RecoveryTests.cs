using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Sessions;

namespace Relay.IntegrationTests;

/// <summary>
/// Offsets and recovery against the real PocketBase: a .NET client whose network is down for a few seconds (long enough
/// that SignalR's stateful reconnect fails and the client reconnects in full) while another party writes.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class RecoveryTests(PocketBaseFixture pocketBase)
{
    private static readonly TimeSpan Offline = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task FullReconnect_WithinHistory_MissedEventsArriveInOrder_NoResync()
    {
        var user = await pocketBase.CreateUserAsync("recovery");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var network = new TcpProxy(relay.Url);
        var (client, events, resyncs, reconnects) = await ConnectAsync(network.Url, user.Token);
        await using var _ = client;
        var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(user.CollectionId, user.Id))!;
        var before = Assert.Single(session.Connections);
        var seen = await AnnounceAsync("before the cut");
        Assert.Equal(seen, (await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Id);

        var reconnected = CutAsync(network, client);
        List<string> missed = [];
        for (var i = 0; i < 5; i++)
        {
            missed.Add(await AnnounceAsync($"while offline {i}"));
        }

        var reconnectedAt = await reconnected;
        List<string> received = [];
        long lastReplayed = 0;
        while (received.Count < missed.Count)
        {
            var relayEvent = await events.Reader.ReadAsync().AsTask().DefaultTimeout();
            received.Add(relayEvent.Id);
            lastReplayed = relayEvent.At;
        }

        Assert.Equal(missed, received);
        await reconnects.Reader.ReadAsync().AsTask().DefaultTimeout();
        // A full reconnect: a new connection (the old one may linger until SignalR gives up its stateful window).
        Assert.Contains(session.Connections, connection => connection != before);
        var live = await AnnounceAsync("after the reconnect");
        Assert.Equal(live, (await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Id);
        Assert.False(resyncs.Reader.TryRead(out var resync), $"recovered, yet resynced: {resync?.Reason}");
        var recovery = Stopwatch.GetElapsedTime(reconnectedAt, lastReplayed);
        await TestResults.AppendAsync($"Recovery: {missed.Count} events missed over a {Offline.TotalSeconds:0} s full reconnect replayed, last one {recovery.TotalMilliseconds:F0} ms after the client reconnected, 0 Resync");
    }

    [Fact]
    public async Task FullReconnect_LongerThanTheHistory_Resyncs()
    {
        var user = await pocketBase.CreateUserAsync("recovery-overrun");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:History:MaxEvents"] = "3" });
        await using var network = new TcpProxy(relay.Url);
        var (client, events, resyncs, _) = await ConnectAsync(network.Url, user.Token);
        await using var __ = client;
        var seen = await AnnounceAsync("before the cut");
        Assert.Equal(seen, (await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Id);

        var reconnected = CutAsync(network, client);
        for (var i = 0; i < 5; i++)
        {
            await AnnounceAsync($"more than the history holds {i}");
        }

        await reconnected;
        var signal = await resyncs.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(["announcements/*"], signal.Topics);
        var live = await AnnounceAsync("after the resync");
        while ((await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Id != live)
        {
        }
    }

    [Fact]
    public async Task RelayRestarted_OffsetOfTheOldProcess_Resyncs()
    {
        var user = await pocketBase.CreateUserAsync("recovery-restart");
        var port = Testing.PocketBase.PocketBaseServer.FreePort();
        var first = RelayServer.Start(pocketBase.Server.Url, port: port);
        var (client, events, resyncs, _) = await ConnectAsync(first.Url, user.Token);
        await using var __ = client;
        var seen = await AnnounceAsync("before the restart");
        Assert.Equal(seen, (await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Id);

        // A new process on the same address: its history starts empty under a new epoch.
        await first.StopAsync();
        await first.DisposeAsync();
        await using var second = RelayServer.Start(pocketBase.Server.Url, port: port);

        var signal = await resyncs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(["announcements/*"], signal.Topics);
    }

    [Fact]
    public async Task SubscribeMany_Since_OversizedRefused_ForeignNotRecovered_OwnOffsetRecovered()
    {
        var user = await pocketBase.CreateUserAsync("recovery-since");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var connection = await relay.ConnectAsync(user.Token);

        var results = await connection.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[]
        {
            new SubscribeRequest { Topic = "announcements/*", Since = new string('1', 129) },
            new SubscribeRequest { Topic = "notes/*", Since = "0123456789abcdef-1" },
        }).DefaultTimeout();

        Assert.Equal(RelayErrorCodes.InvalidRequest, results[0].Error);
        Assert.Null(results[1].Error);
        Assert.False(results[1].Recovered);
        Assert.NotNull(results[1].Offset);

        // Subscribing again from the offset Relay just gave is covered (nothing missed since).
        var again = await connection.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[]
        {
            new SubscribeRequest { Topic = "notes/*", Since = results[1].Offset },
        }).DefaultTimeout();
        Assert.True(again[0].Recovered);
    }

    private static async Task<(RelayClient Client, Channel<(string Id, long At)> Events, Channel<ResyncSignal> Resyncs, Channel<bool> Reconnects)> ConnectAsync(Uri url, string token)
    {
        var client = new RelayClient(new RelayClientOptions
        {
            Url = url,
            AccessTokenProvider = _ => ValueTask.FromResult<string?>(token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(250),
        });
        var events = Channel.CreateUnbounded<(string, long)>();
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        var reconnects = Channel.CreateUnbounded<bool>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        client.Reconnected += () => reconnects.Writer.WriteAsync(true).AsTask();
        await client.StartAsync().DefaultTimeout();
        await client.SubscribeAsync("announcements/*", e => events.Writer.WriteAsync((e.Record.GetProperty("id").GetString()!, Stopwatch.GetTimestamp())).AsTask()).DefaultTimeout();
        return (client, events, resyncs, reconnects);
    }

    /// <summary>Takes the network down for <see cref="Offline"/>; completes with the moment the client is connected again.</summary>
    private static async Task<long> CutAsync(TcpProxy network, RelayClient client)
    {
        var connected = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += state =>
        {
            if (state == HubConnectionState.Connected)
            {
                connected.TrySetResult(Stopwatch.GetTimestamp());
            }
        };
        network.Refusing = true;
        network.CloseAll();
        await Task.Delay(Offline);
        network.Refusing = false;
        return await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task<string> AnnounceAsync(string title)
    {
        var record = await pocketBase.Admin.CreateRecordAsync("announcements", new { title }).DefaultTimeout();
        return record.GetProperty("id").GetString()!;
    }
}
