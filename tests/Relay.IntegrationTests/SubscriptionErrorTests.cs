using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>Every refused Subscribe comes back with its stable code, and the connection stays usable.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SubscriptionErrorTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Subscribe_RefusedInputs_ReturnTheirCodes()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:AllowedCollections:0"] = "notes",
            ["Relay:AllowedCollections:1"] = "announcements",
            ["Relay:MaxSubscriptionsPerConnection"] = "2",
        });
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);

        Assert.Equal(RelayErrorCodes.InvalidTopic, await tab.SubscribeExpectingErrorAsync("notes"));
        Assert.Equal(RelayErrorCodes.InvalidTopic, await tab.SubscribeExpectingErrorAsync("notes/*?options={}"));
        Assert.Equal(RelayErrorCodes.InvalidTopic, await tab.SubscribeExpectingErrorAsync(""));
        Assert.Equal(RelayErrorCodes.TopicNotAllowed, await tab.SubscribeExpectingErrorAsync("secrets/*"));
        Assert.Equal(RelayErrorCodes.InvalidOptions, await tab.SubscribeExpectingErrorAsync("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["filter"] = new string('x', 5000) },
        }));

        await tab.SubscribeAsync("notes/*");
        await tab.SubscribeAsync("announcements/*");
        // Re-subscribing a held topic (here with options) replaces it and does not count as another subscription.
        await tab.SubscribeAsync("notes/*", new SubscriptionOptions { Query = new Dictionary<string, string> { ["expand"] = "owner" } });
        Assert.Equal(RelayErrorCodes.TooManySubscriptions, await tab.SubscribeExpectingErrorAsync("notes/abc123"));
        Assert.Equal(RelayErrorCodes.InvalidTopic, RelayErrorCodes.FromMessage(
            (await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => tab.UnsubscribeAsync("bad topic"))).Message));

        // The connection survived every refusal and still delivers.
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "still works", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        var created = await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        Assert.True(created.Record.TryGetProperty("expand", out _), "the replaced subscription's options apply");
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Subscribe_PocketBaseUnreachable_ReturnsUpstreamUnavailable()
    {
        await using var relay = RelayServer.Start(new Uri("http://127.0.0.1:9/"), new Dictionary<string, string?>
        {
            ["Relay:PocketBase:SubscribeTimeout"] = "00:00:03",
        });
        var guest = await relay.ConnectAsync(token: null);

        Assert.Equal(RelayErrorCodes.UpstreamUnavailable, await guest.SubscribeExpectingErrorAsync("announcements/*"));
    }
}
