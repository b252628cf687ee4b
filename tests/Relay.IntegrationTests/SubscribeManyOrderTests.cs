using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>SubscribeMany applies its entries in request order, even when one of them first has its filter checked.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SubscribeManyOrderTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task SameTopicTwice_FirstWithAFilter_TheLaterEntrysOptionsWin()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var alice = await pocketBase.CreateUserAsync("order-alice");
        var tab = await relay.ConnectAsync(alice.Token);

        // The first entry's filter is checked with PocketBase (an HTTP call); the second has none and would be applied
        // at once. As documented, the later entry replaces the earlier one's options: no filter.
        var results = await tab.Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), new[]
        {
            new SubscribeRequest { Topic = "notes/*", Options = new SubscriptionOptions { Query = new Dictionary<string, string> { ["filter"] = "title = 'only-this'" } } },
            new SubscribeRequest { Topic = "notes/*" },
        }).DefaultTimeout();
        Assert.All(results, result => Assert.Null(result.Error));

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "something-else", owner = alice.Id }, alice.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        relay.AssertNoErrorLogs();
    }
}
