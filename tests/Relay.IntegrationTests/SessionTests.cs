using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>What PocketBase pays: one stream per user, one for all guests, released after the linger time.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SessionTests(PocketBaseFixture pocketBase)
{
    private static readonly KeyValuePair<string, object?> Users = new("kind", "user");
    private static readonly KeyValuePair<string, object?> Guests = new("kind", "guest");

    [Fact]
    public async Task Streams_OnePerUserAndOneForGuests_ReleasedAfterLinger()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Sessions:Linger"] = "00:00:01" });

        var aliceTabs = await ConnectAsync(relay, pocketBase.Alice.Token, 3, "notes/*");
        await relay.WaitForGaugeAsync("relay.upstream.streams", 1);
        Assert.Equal(1, relay.Gauge("relay.sessions", Users));

        // A fourth tab of alice's with another topic widens her one stream rather than opening a second.
        aliceTabs.Add((await ConnectAsync(relay, pocketBase.Alice.Token, 1, "announcements/*"))[0]);
        var bobTabs = await ConnectAsync(relay, pocketBase.Bob.Token, 2, "notes/*");
        var guests = await ConnectAsync(relay, token: null, 3, "announcements/*");

        Assert.Equal(3, relay.Gauge("relay.upstream.streams"));
        Assert.Equal(2, relay.Gauge("relay.sessions", Users));
        Assert.Equal(1, relay.Gauge("relay.sessions", Guests));
        Assert.Equal(9, relay.Gauge("relay.connections"));

        // Every one of alice's tabs is served by the one stream.
        var announcement = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "shared stream" }).DefaultTimeout()).GetProperty("id").GetString()!;
        await aliceTabs[3].NextEventAsync("create", announcement);
        foreach (var guest in guests)
        {
            await guest.NextEventAsync("create", announcement);
        }

        foreach (var tab in aliceTabs)
        {
            await tab.DisposeAsync();
        }

        // Within the linger time alice's session and stream stay, so a reload finds them open...
        await relay.WaitForGaugeAsync("relay.connections", 5);
        Assert.Equal(3, relay.Gauge("relay.upstream.streams"));
        Assert.Equal(2, relay.Gauge("relay.sessions", Users));

        // ...and after it they are released.
        await relay.WaitForGaugeAsync("relay.upstream.streams", 2);
        Assert.Equal(1, relay.Gauge("relay.sessions", Users));

        foreach (var connection in bobTabs.Concat(guests))
        {
            await connection.DisposeAsync();
        }

        await relay.WaitForGaugeAsync("relay.upstream.streams", 0);
        Assert.Equal(0, relay.Gauge("relay.sessions", Users));
        Assert.Equal(0, relay.Gauge("relay.sessions", Guests));
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Reload_WithinLinger_ReusesTheStream()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Sessions:Linger"] = "00:00:30" });
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*");
        await relay.WaitForGaugeAsync("relay.upstream.streams", 1);

        await tab.DisposeAsync();
        await relay.WaitForGaugeAsync("relay.connections", 0);
        var reloaded = await relay.ConnectAsync(pocketBase.Alice.Token);
        await reloaded.SubscribeAsync("notes/*");

        Assert.Equal(1, relay.Gauge("relay.upstream.streams"));
        Assert.Equal(1, relay.Gauge("relay.sessions", Users));
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after reload", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await reloaded.NextEventAsync("create", note.GetProperty("id").GetString()!);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task ConnectionWithoutSubscriptions_OpensNoStream()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await relay.ConnectAsync(pocketBase.Alice.Token);
        await relay.ConnectAsync(token: null);

        await relay.WaitForGaugeAsync("relay.connections", 2);
        Assert.Equal(0, relay.Gauge("relay.upstream.streams"));
        Assert.NotEqual(5000, relay.Url.Port);
    }

    private static async Task<List<TestConnection>> ConnectAsync(RelayServer relay, string? token, int count, string topic)
    {
        var connections = new List<TestConnection>();
        for (var i = 0; i < count; i++)
        {
            var connection = await relay.ConnectAsync(token);
            await connection.SubscribeAsync(topic);
            connections.Add(connection);
        }

        return connections;
    }
}
