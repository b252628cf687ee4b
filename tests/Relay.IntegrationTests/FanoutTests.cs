using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>A thousand guest connections share one stream; every event reaches every one of them exactly once.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class FanoutTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task GuestFanout_ThousandConnections_EveryEventExactlyOnce()
    {
        const int Connections = 1000;
        const int Events = 5;
        // Every guest here comes from loopback: lift the per-address guest limit.
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:GuestLimits:MaxConnectionsPerIp"] = "2000" });
        var guests = new TestConnection[Connections];
        using (var gate = new SemaphoreSlim(50))
        {
            await Task.WhenAll(Enumerable.Range(0, Connections).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    guests[i] = await relay.ConnectAsync(token: null);
                    await guests[i].SubscribeAsync("announcements/*");
                }
                finally
                {
                    gate.Release();
                }
            })).WaitAsync(TimeSpan.FromMinutes(2));
        }

        Assert.Equal(1, relay.Gauge("relay.upstream.streams"));
        var ids = new List<string>();
        for (var i = 0; i < Events; i++)
        {
            var created = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = $"to everyone {i}" }).DefaultTimeout();
            ids.Add(created.GetProperty("id").GetString()!);
        }

        var received = await Task.WhenAll(guests.Select(async guest =>
        {
            var events = new List<string>();
            for (var i = 0; i < Events; i++)
            {
                events.Add((await guest.NextEventAsync(TimeSpan.FromSeconds(60))).Record.GetProperty("id").GetString()!);
            }

            return events;
        })).WaitAsync(TimeSpan.FromMinutes(2));

        // Exactly once: each id once per connection, and nothing more arrives.
        Assert.All(received, events => Assert.Equal(ids.Order(), events.Order()));
        // Per-connection order: every connection saw the single stream's order.
        Assert.All(received, events => Assert.Equal(received[0], events));
        await Task.Delay(TestTimeouts.Quiet);
        Assert.All(guests, guest => Assert.Empty(guest.Drain()));
        relay.AssertNoErrorLogs();
    }
}
