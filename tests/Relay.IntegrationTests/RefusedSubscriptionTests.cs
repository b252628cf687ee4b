using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>A subscription PocketBase refuses fails only itself: same user's other tab, other users and guests lose nothing.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class RefusedSubscriptionTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private static readonly SubscriptionOptions BadFilter = new() { Query = new Dictionary<string, string> { ["filter"] = "(((title" } };

    [Fact]
    public async Task FilterPocketBaseRejects_OnlyThatCallFails_BystandersGetEverythingAndNoResync()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var lost = new MetricCollector<long>(meters, "Relay", "relay.upstream.streams_lost");
        var alice = await pocketBase.CreateUserAsync("refused-alice");
        var bob = await pocketBase.CreateUserAsync("refused-bob");
        var aliceTab = await relay.ConnectAsync(alice.Token);
        await aliceTab.SubscribeAsync("notes/*");
        var aliceOther = await relay.ConnectAsync(alice.Token);
        var bobTab = await relay.ConnectAsync(bob.Token);
        await bobTab.SubscribeAsync("notes/*");
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");
        var bystanders = new[] { aliceTab, bobTab, guest };

        // PocketBase 0.22 accepts the topic in a subscription POST and then matches nothing; its list endpoint refuses it.
        Assert.Equal(RelayErrorCodes.SubscriptionRefused, await aliceOther.SubscribeExpectingErrorAsync("notes/*", BadFilter));
        Assert.Equal(RelayErrorCodes.SubscriptionRefused, await guest.SubscribeExpectingErrorAsync("announcements/*", BadFilter));

        // In a batch only the refused entry fails; the good one is held.
        var results = await aliceOther.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[]
        {
            new SubscribeRequest { Topic = "notes/*", Options = BadFilter },
            new SubscribeRequest { Topic = "notes/*", Options = new SubscriptionOptions { Query = new Dictionary<string, string> { ["filter"] = "title != 'never'" } } },
        }).DefaultTimeout();
        Assert.Equal(RelayErrorCodes.SubscriptionRefused, results[0].Error);
        Assert.Null(results[1].Error);

        // Nobody lost anything: every change reaches exactly who it should, and no one was told to resync.
        const int Rounds = 5;
        for (var i = 0; i < Rounds; i++)
        {
            var aliceNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"a{i}", owner = alice.Id }, alice.Token).DefaultTimeout();
            await aliceTab.NextEventAsync("create", aliceNote.GetProperty("id").GetString()!);
            await aliceOther.NextEventAsync("create", aliceNote.GetProperty("id").GetString()!);
            var bobNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"b{i}", owner = bob.Id }, bob.Token).DefaultTimeout();
            await bobTab.NextEventAsync("create", bobNote.GetProperty("id").GetString()!);
            var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = $"g{i}" }).DefaultTimeout();
            await guest.NextEventAsync("create", announcement.GetProperty("id").GetString()!);
        }

        foreach (var connection in bystanders.Append(aliceOther))
        {
            await connection.AssertNoEventAsync(TimeSpan.Zero);
        }

        await Task.Delay(TestTimeouts.Quiet);
        var resyncs = bystanders.Append(aliceOther).Count(connection => connection.Resyncs.TryRead(out _));
        var line = $"refused subscription (real PocketBase, filter it rejects): refused calls 3 of 3, bystanders' events {Rounds * 3} of {Rounds * 3} delivered once, Resyncs {resyncs}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.Equal(0, resyncs);
        Assert.Empty(lost.GetMeasurementSnapshot());
        Assert.Equal(3, relay.Gauge("relay.upstream.streams"));
        relay.AssertNoErrorLogs();
    }
}
