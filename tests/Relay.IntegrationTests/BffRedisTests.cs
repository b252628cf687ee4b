using Relay.Testing.PocketBase;
using System.Net;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Relay.IntegrationTests;

/// <summary>
/// With <c>Relay:Redis:Configuration</c>, sessions and Data Protection keys live in Redis: any instance serves any
/// session, a restart keeps them, and signing out on one closes the session's hub connections on all.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffRedisTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Session_SignedInOnOneInstance_ServedByAnotherAndAfterRestart_LogoutEndsItEverywhere()
    {
        await using var redis = await RedisProcess.StartAsync();
        // Each instance gets its own keys folder: only Redis can make their cookies readable by each other.
        Dictionary<string, string?> Settings()
        {
            var settings = BffSettings.Enabled();
            settings["Relay:Redis:Configuration"] = redis.Configuration;
            return settings;
        }

        await using var first = RelayServer.Start(pocketBase.Server.Url, Settings());
        await using var second = RelayServer.Start(pocketBase.Server.Url, Settings());
        using var onFirst = new BffBrowser(first.Url);
        var signedIn = await onFirst.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var cookie = onFirst.SessionCookie!;

        using var onSecond = new BffBrowser(second.Url);
        onSecond.Cookies.Add(second.Url, new Cookie(BffBrowser.CookieName, cookie));
        Assert.Equal(signedIn.GetProperty("id").GetString(), (await onSecond.GetJsonAsync("bff/user")).GetProperty("id").GetString());
        await onSecond.GetJsonAsync("api/collections/notes/records");
        await using var hubOnFirst = await onFirst.ConnectHubAsync();
        await hubOnFirst.SubscribeAsync("notes/*");

        // A third instance started after the sign-in (a restart) reads the same session.
        await using (var restarted = RelayServer.Start(pocketBase.Server.Url, Settings()))
        {
            using var onRestarted = new BffBrowser(restarted.Url);
            onRestarted.Cookies.Add(restarted.Url, new Cookie(BffBrowser.CookieName, cookie));
            Assert.Equal(signedIn.GetProperty("id").GetString(), (await onRestarted.GetJsonAsync("bff/user")).GetProperty("id").GetString());
        }

        using (var logout = await onSecond.LogoutAsync())
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        // Signed out on the second instance: the hub connection held by the first closes too.
        await hubOnFirst.Closed.DefaultTimeout();
        using var afterLogout = await onFirst.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLogout.StatusCode);
        first.AssertNoErrorLogs();
        second.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RedisStore_ReplaceAfterSignOut_DoesNotBringTheSessionBack()
    {
        // A token refresh that finishes after /bff/logout (on this or another instance) must not write the session back.
        await using var redis = await RedisProcess.StartAsync();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration).DefaultTimeout();
        var store = new RedisBffSessionStore(multiplexer, new BffHubConnections(() => throw new InvalidOperationException("not asked"), TimeProvider.System), new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider(), TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        var session = new BffSession("sid-" + Guid.NewGuid().ToString("N"), "col1", "users", "rec1", "token-1", now.AddHours(1), now, now.AddHours(12), """{"id":"rec1"}""");
        await store.SetAsync(session, CancellationToken.None).DefaultTimeout();

        Assert.True(await store.ReplaceAsync(session with { Token = "token-2" }, CancellationToken.None).DefaultTimeout());
        Assert.Equal("token-2", (await store.GetAsync(session.Id, CancellationToken.None).DefaultTimeout())!.Token);

        await store.RemoveAsync(BffSessionHash.Of(session.Id), CancellationToken.None).DefaultTimeout();
        Assert.False(await store.ReplaceAsync(session with { Token = "token-3" }, CancellationToken.None).DefaultTimeout());
        Assert.Null(await store.GetAsync(session.Id, CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task RedisDown_SignedInBrowser_503NotSignedOut()
    {
        var redis = await RedisProcess.StartAsync();
        var settings = BffSettings.Enabled();
        settings["Relay:Redis:Configuration"] = redis.Configuration + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);

        await redis.DisposeAsync();

        foreach (var (method, path) in new[] { (HttpMethod.Get, "bff/user"), (HttpMethod.Get, "api/collections/notes/records"), (HttpMethod.Post, "realtime/negotiate?negotiateVersion=1") })
        {
            // With the page's Origin, as a browser sends it on a POST: a cookie hub request without one is refused outright.
            using var response = await browser.SendAsync(method, path, csrf: false, origin: relay.Url.GetLeftPart(UriPartial.Authority));
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path} answered {(int)response.StatusCode}");
        }

        using var logout = await browser.LogoutAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, logout.StatusCode);
    }
}
