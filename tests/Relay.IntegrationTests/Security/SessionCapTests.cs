using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 6: sign-ins that never send their cookie back cannot pile up sessions (each a token held for the
/// session's lifetime): beyond <c>Relay:Bff:MaxSessionsPerUser</c> the user's oldest ends, hub connections included.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SessionCapTests(PocketBaseFixture pocketBase)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SignIns_BeyondTheCap_OldestEndedWithItsHubConnection_CountedInMetrics(bool redis)
    {
        await using var redisServer = redis ? await RedisProcess.StartAsync() : null;
        var user = await pocketBase.CreateUserAsync("session-cap");
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:MaxSessionsPerUser"] = "3";
        if (redisServer is not null)
        {
            settings["Relay:Redis:Configuration"] = redisServer.Configuration;
        }

        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var ended = new MetricCollector<long>(relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Relay", "relay.bff.sessions_ended");
        var browsers = Enumerable.Range(0, 4).Select(_ => new BffBrowser(relay.Url)).ToList();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                await browsers[i].LoginOkAsync(user.Email, user.Password);
            }

            await using var oldestHub = await browsers[0].ConnectHubAsync();
            await oldestHub.SubscribeAsync("notes/*");
            await browsers[3].LoginOkAsync(user.Email, user.Password);

            await oldestHub.Closed.DefaultTimeout();
            using (var oldest = await browsers[0].SendAsync(HttpMethod.Get, "bff/user", csrf: false))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, oldest.StatusCode);
                Assert.Equal(BffErrorCodes.SessionEnded, JsonDocument.Parse(await oldest.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
            }

            foreach (var browser in browsers.Skip(1))
            {
                Assert.Equal(user.Id, (await browser.GetJsonAsync("bff/user")).GetProperty("id").GetString());
            }

            var overCap = ended.GetMeasurementSnapshot().Where(m => m.Tags.TryGetValue("reason", out var reason) && (string?)reason == "over_cap").Sum(m => m.Value);
            Assert.Equal(1, overCap);
            relay.AssertNoErrorLogs();
        }
        finally
        {
            browsers.ForEach(b => b.Dispose());
        }
    }
}
