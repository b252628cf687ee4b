using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>The guest topic set spreads over several PocketBase streams past the configured size; delivery is unchanged.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class GuestSpreadTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    [Fact]
    public async Task GuestTopicsPastOneStream_SpreadOverStreams_EveryGuestStillGetsItsEvents()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:Sessions:GuestTopicsPerStream"] = "2",
            ["Relay:Sessions:MaxGuestStreams"] = "3",
        });
        var records = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            records.Add((await pocketBase.Admin.CreateRecordAsync("announcements", new { title = $"spread {i}" }).DefaultTimeout()).GetProperty("id").GetString()!);
        }

        var wildcard = await relay.ConnectAsync(token: null);
        await wildcard.SubscribeAsync("announcements/*");
        var perRecord = new List<TestConnection>();
        foreach (var id in records)
        {
            var guest = await relay.ConnectAsync(token: null);
            await guest.SubscribeAsync($"announcements/{id}");
            perRecord.Add(guest);
        }

        // Six distinct topics, two per stream; a seventh is over the guest budget of 2 x 3.
        Assert.Equal(3, relay.Gauge("relay.upstream.streams"));
        var another = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "one too many" }).DefaultTimeout()).GetProperty("id").GetString()!;
        Assert.Equal(RelayErrorCodes.TooManySubscriptions, await wildcard.SubscribeExpectingErrorAsync($"announcements/{another}"));
        Assert.Equal("create", (await wildcard.NextEventAsync()).Action);

        for (var i = 0; i < records.Count; i++)
        {
            await pocketBase.Admin.UpdateRecordAsync("announcements", records[i], new { title = $"spread {i} updated" }).DefaultTimeout();
            await wildcard.NextEventAsync("update", records[i]);
            await perRecord[i].NextEventAsync("update", records[i]);
        }

        foreach (var connection in perRecord.Append(wildcard))
        {
            await connection.AssertNoEventAsync(TimeSpan.Zero);
        }

        var line = $"guest spread (real PocketBase, 2 topics per stream): 6 guest topics on {relay.Gauge("relay.upstream.streams")} streams, every update delivered once to its subscribers";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);
        relay.AssertNoErrorLogs();
    }
}
