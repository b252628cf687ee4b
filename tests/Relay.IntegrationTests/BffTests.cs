using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Bff;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>BFF mode against the real PocketBase: the browser holds a cookie, never a token, and sees exactly what its user may.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Login_SetsHttpOnlyStrictCookie_TokenNowhereInResponsesOrLogs()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.LoginAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = JsonDocument.Parse(body).RootElement;
        Assert.Equal(pocketBase.Alice.Id, record.GetProperty("id").GetString());
        Assert.False(record.TryGetProperty("token", out _));

        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BffBrowser.CookieName + "=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("httponly", setCookie);
        Assert.Contains("samesite=strict", setCookie);
        Assert.Contains("path=/", setCookie);

        // The token Relay holds for this session: its signature must appear in nothing the browser or a log sees.
        var session = Assert.Single(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All);
        var signature = session.Token.Split('.')[2];
        using var user = await browser.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        using var notes = await browser.SendAsync(HttpMethod.Get, "api/collections/notes/records", csrf: false);
        foreach (var seen in new[] { response, user, notes })
        {
            Assert.Equal(HttpStatusCode.OK, seen.StatusCode);
            Assert.DoesNotContain(signature, await seen.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.DoesNotContain(signature, string.Join("\n", seen.Headers.Concat(seen.Content.Headers).SelectMany(h => h.Value)), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(browser.Cookies.GetAllCookies(), cookie => cookie.Value.Contains(signature, StringComparison.Ordinal));
        Assert.DoesNotContain(relay.Logs.Entries, entry => entry.Text.Contains(signature, StringComparison.Ordinal));
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Login_OutsideDevelopment_HostPrefixedSecureCookie()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled(), environment: "Production");
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.LoginAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BffDefaults.SecureCookieName + "=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("; secure", setCookie);
        Assert.Contains("httponly", setCookie);
        Assert.Contains("samesite=strict", setCookie);
        Assert.Contains("path=/", setCookie);
        Assert.DoesNotContain("domain=", setCookie);
    }

    [Theory]
    [InlineData("alice@relay.test", "wrong-password")]
    [InlineData("nobody@relay.test", "whatever-password")]
    public async Task Login_WrongPasswordOrUnknownUser_PocketBasesMessageNoCookieNothingStored(string identity, string password)
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.LoginAsync(identity, password);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(BffErrorCodes.LoginFailed, error.GetProperty("code").GetString());
        Assert.Equal("Failed to authenticate.", error.GetProperty("message").GetString());
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Empty(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All);
        using var user = await browser.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
    }

    [Fact]
    public async Task Login_FloodFromOneAddress_RateLimited429()
    {
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:LoginAttemptsPerMinute"] = "3";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);

        for (var i = 0; i < 3; i++)
        {
            using var refused = await browser.LoginAsync(pocketBase.Alice.Email, "wrong-password");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        using var limited = await browser.LoginAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null);
        Assert.Equal(BffErrorCodes.TooManyAttempts, (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Null(browser.SessionCookie);
    }

    [Fact]
    public async Task Proxy_WithCookie_EachUserListsOnlyTheirNotes_WithoutCookieAGuestsView()
    {
        var aliceNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "alice's bff note", owner = pocketBase.Alice.Id });
        var bobNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "bob's bff note", owner = pocketBase.Bob.Id });
        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "for everyone" });
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var alice = new BffBrowser(relay.Url);
        using var bob = new BffBrowser(relay.Url);
        using var guest = new BffBrowser(relay.Url);
        await alice.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        await bob.LoginOkAsync(pocketBase.Bob.Email, pocketBase.Bob.Password);

        var aliceSees = Items(await alice.GetJsonAsync("api/collections/notes/records?perPage=500&sort=-created"));
        var bobSees = Items(await bob.GetJsonAsync("api/collections/notes/records?perPage=500&sort=-created"));
        var guestSees = Items(await guest.GetJsonAsync("api/collections/notes/records?perPage=500&sort=-created"));

        Assert.Contains(aliceNote.GetProperty("id").GetString(), aliceSees.Select(n => n.GetProperty("id").GetString()));
        Assert.All(aliceSees, n => Assert.Equal(pocketBase.Alice.Id, n.GetProperty("owner").GetString()));
        Assert.Contains(bobNote.GetProperty("id").GetString(), bobSees.Select(n => n.GetProperty("id").GetString()));
        Assert.All(bobSees, n => Assert.Equal(pocketBase.Bob.Id, n.GetProperty("owner").GetString()));
        Assert.Empty(guestSees);
        // The guest's calls do go through: public records are there.
        Assert.Contains(announcement.GetProperty("id").GetString(), Items(await guest.GetJsonAsync("api/collections/announcements/records?perPage=500&sort=-created")).Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Proxy_ClientAuthorizationHeader_IgnoredInBffMode()
    {
        var bobNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "bob's header note", owner = pocketBase.Bob.Id });
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var http = new HttpClient { BaseAddress = relay.Url, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/collections/notes/records/{bobNote.GetProperty("id").GetString()}");
        request.Headers.TryAddWithoutValidation("Authorization", pocketBase.Bob.Token);

        using var response = await http.SendAsync(request).DefaultTimeout();

        // As a guest: PocketBase hides bob's note, which bob's own header would have shown.
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Proxy_PocketBasesWildcardCors_NotPassedOn()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var http = new HttpClient { Timeout = TestTimeouts.Default };
        HttpRequestMessage Request(Uri baseUrl)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, "api/collections/announcements/records"));
            request.Headers.Add("Origin", "https://elsewhere.example");
            return request;
        }

        using var direct = await http.SendAsync(Request(pocketBase.Server.Url)).DefaultTimeout();
        using var proxied = await http.SendAsync(Request(relay.Url)).DefaultTimeout();

        Assert.Equal("*", Assert.Single(direct.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.False(proxied.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Proxy_WritesWithoutCsrfHeaderOrFromAnotherOrigin_403AndNothingChanges_WithHeaderApplied()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var alice = new BffBrowser(relay.Url);
        await alice.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var title = "csrf-" + Guid.NewGuid().ToString("N");
        object Note(string t) => new { title = t, owner = pocketBase.Alice.Id };

        using (var forged = await alice.SendAsync(HttpMethod.Post, "api/collections/notes/records", JsonContent.Create(Note(title)), csrf: false))
        {
            await AssertCsrfRefusedAsync(forged);
        }

        using (var crossSite = await alice.SendAsync(HttpMethod.Post, "api/collections/notes/records", JsonContent.Create(Note(title)), origin: "https://evil.example"))
        {
            await AssertCsrfRefusedAsync(crossSite);
        }

        Assert.Equal(0, await CountNotesTitledAsync(title));

        using var created = await alice.SendAsync(HttpMethod.Post, "api/collections/notes/records", JsonContent.Create(Note(title)), origin: relay.Url.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(1, await CountNotesTitledAsync(title));

        using (var forged = await alice.SendAsync(HttpMethod.Patch, $"api/collections/notes/records/{id}", JsonContent.Create(new { title = title + "-changed" }), csrf: false))
        {
            await AssertCsrfRefusedAsync(forged);
        }

        Assert.Equal(title, (await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/notes/records/{id}", null, null)).GetProperty("title").GetString());
        using (var patched = await alice.SendAsync(HttpMethod.Patch, $"api/collections/notes/records/{id}", JsonContent.Create(new { title = title + "-changed" })))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        Assert.Equal(title + "-changed", (await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/notes/records/{id}", null, null)).GetProperty("title").GetString());

        using (var forged = await alice.SendAsync(HttpMethod.Delete, $"api/collections/notes/records/{id}", csrf: false))
        {
            await AssertCsrfRefusedAsync(forged);
        }

        await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/notes/records/{id}", null, null);
        using (var deleted = await alice.SendAsync(HttpMethod.Delete, $"api/collections/notes/records/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var gone = await Assert.ThrowsAsync<HttpRequestException>(() => pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/notes/records/{id}", null, null));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        // /bff/* too: a forged logout does not end the session.
        using (var forgedLogout = await alice.SendAsync(HttpMethod.Post, "bff/logout", csrf: false))
        {
            await AssertCsrfRefusedAsync(forgedLogout);
        }

        await alice.GetJsonAsync("bff/user");
    }

    [Fact]
    public async Task Proxy_RealtimeAndTokenIssuingEndpoints_NotProxied()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var alice = new BffBrowser(relay.Url);
        await alice.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);

        using var realtime = await alice.SendAsync(HttpMethod.Get, "api/realtime", csrf: false);
        Assert.Equal(HttpStatusCode.NotFound, realtime.StatusCode);
        Assert.Equal(BffErrorCodes.UseTheHub, (await realtime.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        foreach (var path in new[] { "api/collections/users/auth-refresh", "api/collections/users/auth-with-password", "api/collections/users//AUTH-REFRESH", "api/admins/auth-with-password" })
        {
            using var response = await alice.SendAsync(HttpMethod.Post, path, JsonContent.Create(new { identity = pocketBase.Alice.Email, password = pocketBase.Alice.Password }));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains(BffErrorCodes.NotProxied, body, StringComparison.Ordinal);
            Assert.DoesNotContain("\"token\"", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Hub_WithOnlyTheCookie_ReceivesUsersEvents_LogoutClosesItAndTheCookieStopsWorking()
    {
        var user = await pocketBase.CreateUserAsync("bff-hub");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        var cookie = browser.SessionCookie!;

        await using var connection = await browser.ConnectHubAsync();
        await connection.SubscribeAsync("notes/*");
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "to the cookie", owner = user.Id });
        await connection.NextEventAsync("create", note.GetProperty("id").GetString()!);
        Assert.Equal(1, relay.Services.GetRequiredService<BffHubConnections>().Count(Assert.Single(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All).Id));

        using (var logout = await browser.LogoutAsync())
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        // Closed by Relay with a reason, and with reconnecting forbidden: the cookie no longer opens anything.
        var closedWith = await connection.Closed.DefaultTimeout();
        Assert.Contains("signed out", closedWith?.Message, StringComparison.Ordinal);
        Assert.Null(browser.SessionCookie);

        // The old cookie, replayed: refused by every door, not taken for a guest.
        using var replay = new BffBrowser(relay.Url);
        replay.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, cookie));
        using (var me = await replay.SendAsync(HttpMethod.Get, "bff/user", csrf: false))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
            Assert.Equal(BffErrorCodes.SessionEnded, (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        replay.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, cookie));
        using (var api = await replay.SendAsync(HttpMethod.Get, "api/collections/notes/records", csrf: false))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        }

        replay.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, cookie));
        using (var negotiate = await replay.SendAsync(HttpMethod.Post, RelayProtocol.HubPath.TrimStart('/') + "/negotiate?negotiateVersion=1", csrf: false))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
        }

        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Hub_TokenModeAlongsideBffMode_StillWorks()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        var native = await relay.ConnectAsync(pocketBase.Alice.Token);
        await native.SubscribeAsync("notes/*");

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "to the token", owner = pocketBase.Alice.Id });

        await native.NextEventAsync("create", note.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Hub_CookieFromAForeignOrigin_Refused401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var negotiate = RelayProtocol.HubPath.TrimStart('/') + "/negotiate?negotiateVersion=1";

        using var own = await browser.SendAsync(HttpMethod.Post, negotiate, csrf: false, origin: relay.Url.GetLeftPart(UriPartial.Authority));
        using var foreign = await browser.SendAsync(HttpMethod.Post, negotiate, csrf: false, origin: "https://evil.example");

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, foreign.StatusCode);
    }

    [Fact]
    public async Task Session_PasswordChangedAtPocketBase_NextCallAnswers401AndTheSessionEnds()
    {
        var user = await pocketBase.CreateUserAsync("bff-revoked");
        var settings = BffSettings.Enabled();
        settings["Relay:Auth:RevalidateInterval"] = "00:00:01";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        await browser.GetJsonAsync("api/collections/notes/records");

        await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { password = "changed-password-1", passwordConfirm = "changed-password-1" });
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        using var api = await browser.SendAsync(HttpMethod.Get, "api/collections/notes/records", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal(BffErrorCodes.SessionEnded, (await api.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Empty(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All);
        Assert.Null(browser.SessionCookie);
    }

    [Fact]
    public async Task Session_PocketBaseAnswers429ToAuthRefresh_SessionKept()
    {
        // A rate limiter in front of PocketBase (0.23+ has its own) answers 429 for every user behind Relay's address:
        // a refresh answered so must keep the session while its token is valid, not sign the user out.
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, "/auth-refresh");
        var settings = BffSettings.Enabled();
        settings["Relay:Auth:RevalidateInterval"] = "00:00:01";
        await using var relay = RelayServer.Start(proxy.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        var signedIn = await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        proxy.AnswerInstead = path => path.EndsWith("/auth-refresh", StringComparison.Ordinal) ? (int)HttpStatusCode.TooManyRequests : null;
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var user = await browser.GetJsonAsync("bff/user");

        Assert.Equal(signedIn.GetProperty("id").GetString(), user.GetProperty("id").GetString());
        Assert.True(proxy.Count("/auth-refresh") >= 1, "Relay never asked PocketBase to refresh the session");
        Assert.Single(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All);
        Assert.NotNull(browser.SessionCookie);

        // Once PocketBase answers again, the session is refreshed as usual.
        proxy.AnswerInstead = null;
        var refreshes = proxy.Count("/auth-refresh");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(signedIn.GetProperty("id").GetString(), (await browser.GetJsonAsync("bff/user")).GetProperty("id").GetString());
        Assert.True(proxy.Count("/auth-refresh") > refreshes);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Session_ShortLivedTokens_RefreshedServerSideAndCallsStayAuthenticated()
    {
        // PocketBase's shortest token life (5 s on 0.22, 10 s on 0.23+) plus one second: every token issued meanwhile
        // lives that long, so the calls below only keep seeing the user's own note if Relay refreshes the session's
        // token (an expired one makes PocketBase answer as to a guest, who sees no notes).
        var life = pocketBase.Server.Version.ShortestTokenDuration + TimeSpan.FromSeconds(1);
        await pocketBase.Admin.SetRecordTokenDurationAsync(life).DefaultTimeout();
        try
        {
            var user = await pocketBase.CreateUserAsync("bff-shortlived");
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "mine", owner = user.Id });
            await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
            using var browser = new BffBrowser(relay.Url);
            await browser.LoginOkAsync(user.Email, user.Password);
            var store = (MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>();
            var firstToken = Assert.Single(store.All).Token;

            var until = DateTime.UtcNow + 2 * life + TimeSpan.FromSeconds(2);
            while (DateTime.UtcNow < until)
            {
                var items = Items(await browser.GetJsonAsync("api/collections/notes/records"));
                Assert.Equal(note.GetProperty("id").GetString(), Assert.Single(items).GetProperty("id").GetString());
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            Assert.NotEqual(firstToken, Assert.Single(store.All).Token);
            relay.AssertNoErrorLogs();
        }
        finally
        {
            await pocketBase.Admin.SetRecordTokenDurationAsync(TimeSpan.FromDays(14)).DefaultTimeout();
        }
    }

    [Fact]
    public async Task Cookie_ExpiredTicketForALiveSession_Refused401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var session = Assert.Single(((MemoryBffSessionStore)relay.Services.GetRequiredService<IBffSessionStore>()).All);

        // The same session id, sealed with this deployment's own keys, but past its expiry.
        var format = relay.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(BffDefaults.Scheme).TicketDataFormat;
        var identity = new ClaimsIdentity([new Claim(BffDefaults.SessionIdClaim, session.Id)], BffDefaults.Scheme);
        var expired = format.Protect(new AuthenticationTicket(
            new ClaimsPrincipal(identity),
            new AuthenticationProperties { IssuedUtc = DateTimeOffset.UtcNow.AddHours(-2), ExpiresUtc = DateTimeOffset.UtcNow.AddMinutes(-1) },
            BffDefaults.Scheme));
        using var stale = new BffBrowser(relay.Url);
        stale.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, expired));

        using var me = await stale.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        await browser.GetJsonAsync("bff/user");
    }

    private static async Task AssertCsrfRefusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(BffErrorCodes.CsrfRefused, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    private async Task<int> CountNotesTitledAsync(string title)
        => (await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/notes/records?filter={Uri.EscapeDataString($"title ~ '{title}'")}", null, null)).GetProperty("totalItems").GetInt32();

    private static List<JsonElement> Items(JsonElement page) => [.. page.GetProperty("items").EnumerateArray()];
}
