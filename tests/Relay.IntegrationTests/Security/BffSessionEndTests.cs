using System.Net;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using StackExchange.Redis;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 4: a BFF session's hub connections end with the session, at its absolute expiry, and on every
/// instance even when the sign-out announcement (Redis pub/sub) never reached it.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffSessionEndTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Hub_SessionReachesItsAbsoluteLifetime_ClosedThoughItsTokenIsStillRefreshed()
    {
        var user = await pocketBase.CreateUserAsync("session-expiry");
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:SessionLifetime"] = "00:01:00";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        var signedInAt = DateTime.UtcNow;
        await using var hub = await browser.ConnectHubAsync();
        await hub.SubscribeAsync("notes/*");

        var closedWith = await hub.Closed.WaitAsync(TimeSpan.FromSeconds(80));

        var after = DateTime.UtcNow - signedInAt;
        Assert.True(after >= TimeSpan.FromSeconds(58), $"closed after {after.TotalSeconds:F1} s, before the session's lifetime");
        Assert.Contains("expired", closedWith?.Message, StringComparison.Ordinal);
        using var me = await browser.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Fact]
    public async Task Hub_SignOutAnnouncementMissed_ClosedWithinTheRecheckInterval()
    {
        await using var redis = await RedisProcess.StartAsync();
        var user = await pocketBase.CreateUserAsync("missed-signout");
        var settings = BffSettings.Enabled();
        settings["Relay:Redis:Configuration"] = redis.Configuration;
        settings["Relay:Bff:SessionRecheckInterval"] = "00:00:02";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        await using var hub = await browser.ConnectHubAsync();
        await hub.SubscribeAsync("notes/*");

        // What a sign-out on another instance leaves in Redis, without the announcement this instance missed.
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration).DefaultTimeout();
        var server = multiplexer.GetServer(multiplexer.GetEndPoints()[0]);
        var sessionKeys = server.Keys(pattern: "relay:bff:s*").ToArray();
        Assert.NotEmpty(sessionKeys);
        await multiplexer.GetDatabase().KeyDeleteAsync(sessionKeys).DefaultTimeout();

        var closedWith = await hub.Closed.WaitAsync(TimeSpan.FromSeconds(6));
        Assert.Contains("signed out", closedWith?.Message, StringComparison.Ordinal);
        relay.AssertNoErrorLogs();
    }
}
