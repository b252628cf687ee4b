using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 8: the OAuth2 callback cannot be replayed, is rate-limited per address, ends the browser's previous
/// session although the provider's redirect does not carry the SameSite=Strict cookie, and the start cannot be
/// triggered from another site to spend a victim address's sign-in budget.
/// </summary>
public sealed class OAuth2HardeningTests : IAsyncLifetime
{
    private FakeOidcProvider _provider = null!;
    private PocketBaseServer _pocketBase = null!;

    public async Task InitializeAsync()
    {
        _provider = await FakeOidcProvider.StartAsync();
        _pocketBase = await OidcPocketBase.StartAsync(_provider);
    }

    public async Task DisposeAsync()
    {
        await _pocketBase.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task Callback_ReplayedWithTheSameCookieAndState_RefusedAndNoSecondCodeExchange()
    {
        await using var relay = RelayServer.Start(_pocketBase.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        var state = await StartAsync(browser);
        var pending = PendingCookie(browser);
        var callback = $"bff/oauth2/callback?code=code-1&state={Uri.EscapeDataString(state)}";
        using (var first = await browser.SendAsync(HttpMethod.Get, callback, csrf: false))
        {
            Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        }

        // Whoever saw the callback URL and the pending cookie (a proxy log, a shared machine) replays both.
        using var attacker = new BffBrowser(relay.Url);
        attacker.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName + BffDefaults.OAuth2CookieSuffix, pending));
        using var replay = await attacker.SendAsync(HttpMethod.Get, callback, csrf: false);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal(BffErrorCodes.OAuth2Refused, await CodeAsync(replay));
        Assert.Null(attacker.SessionCookie);
        Assert.Single(_provider.TokenRequests);
    }

    [Fact]
    public async Task Callback_FloodFromOneAddress_RateLimited429()
    {
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:LoginAttemptsPerMinute"] = "3";
        await using var relay = RelayServer.Start(_pocketBase.Url, settings);
        using var browser = new BffBrowser(relay.Url);

        for (var i = 0; i < 3; i++)
        {
            using var refused = await browser.SendAsync(HttpMethod.Get, $"bff/oauth2/callback?code=guess-{i}&state=guess", csrf: false);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        using var limited = await browser.SendAsync(HttpMethod.Get, "bff/oauth2/callback?code=guess-4&state=guess", csrf: false);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(BffErrorCodes.TooManyAttempts, await CodeAsync(limited));
    }

    [Fact]
    public async Task Start_FromAnotherSiteOrWithoutProvenance_Refused403_TheAddressBudgetUntouched()
    {
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:LoginAttemptsPerMinute"] = "2";
        await using var relay = RelayServer.Start(_pocketBase.Url, settings);
        using var browser = new BffBrowser(relay.Url);

        // An <img> or link on an attacker's page, or on a sibling subdomain (same-site), and a request that says nothing.
        foreach (var site in new[] { "cross-site", "same-site", "cross-site", "same-site" })
        {
            using var forged = await browser.StartOAuth2Async("bff/oauth2/oidc", site);
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            Assert.Equal(BffErrorCodes.CsrfRefused, await CodeAsync(forged));
            Assert.Null(forged.Headers.Location);
        }

        using (var bare = await browser.SendAsync(HttpMethod.Get, "bff/oauth2/oidc", csrf: false))
        {
            Assert.Equal(HttpStatusCode.Forbidden, bare.StatusCode);
        }

        using (var foreignOrigin = await browser.SendAsync(HttpMethod.Get, "bff/oauth2/oidc", csrf: false, origin: "https://evil.example"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreignOrigin.StatusCode);
        }

        // The user's own clicks still have their whole budget.
        await StartAsync(browser);
        await StartAsync(browser);
        Assert.Empty(_provider.TokenRequests);
    }

    [Fact]
    public async Task SignIn_EndsTheBrowsersPreviousSession_ThoughTheCallbackCarriesNoSessionCookie()
    {
        var user = await _pocketBase.Admin.CreateUserAsync($"before-oauth2-{Guid.NewGuid():N}@relay.test", "password-before-1");
        await using var relay = RelayServer.Start(_pocketBase.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        var previousCookie = browser.SessionCookie!;
        await using var previousHub = await browser.ConnectHubAsync();

        var state = await StartAsync(browser);

        // The provider sends the browser back with a cross-site navigation: the Lax pending cookie comes along, the
        // Strict session cookie does not.
        using var returning = new BffBrowser(relay.Url);
        returning.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName + BffDefaults.OAuth2CookieSuffix, PendingCookie(browser)));
        using (var callback = await returning.SendAsync(HttpMethod.Get, $"bff/oauth2/callback?code=code-2&state={Uri.EscapeDataString(state)}", csrf: false))
        {
            Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        }

        Assert.Equal(FakeOidcProvider.Email, (await returning.GetJsonAsync("bff/user")).GetProperty("email").GetString());
        await previousHub.Closed.DefaultTimeout();
        using var stale = new BffBrowser(relay.Url);
        stale.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, previousCookie));
        using var me = await stale.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    /// <summary>Starts a sign-in as a click on the site's own page and returns the state sent to the provider.</summary>
    private static async Task<string> StartAsync(BffBrowser browser)
    {
        using var start = await browser.StartOAuth2Async("bff/oauth2/oidc?returnUrl=%2F");
        Assert.True(start.StatusCode == HttpStatusCode.Redirect, $"start answered {(int)start.StatusCode}: {await start.Content.ReadAsStringAsync()}");
        return QueryHelpers.ParseQuery(start.Headers.Location!.Query)["state"].ToString();
    }

    private static string PendingCookie(BffBrowser browser)
        => browser.Cookies.GetCookies(browser.RelayUrl)[BffBrowser.CookieName + BffDefaults.OAuth2CookieSuffix]!.Value;

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();
}
