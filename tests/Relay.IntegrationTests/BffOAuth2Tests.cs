using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests;

/// <summary>
/// OAuth2 sign-in end to end: Relay, the real PocketBase (as a local process, so it can reach the provider on loopback)
/// with its generic OIDC provider, and a fake provider standing in for the identity service.
/// </summary>
public sealed class BffOAuth2Tests : IAsyncLifetime
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
    public async Task OAuth2_StateAndPkceCarriedThrough_SignsInAndRedirectsBack()
    {
        await using var relay = RelayServer.Start(_pocketBase.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        var (state, challenge) = await StartAsync(relay, browser, "/notes?x=1");
        using var callback = await browser.SendAsync(HttpMethod.Get, $"bff/oauth2/callback?code=code-1&state={Uri.EscapeDataString(state)}", csrf: false);

        var body = await callback.Content.ReadAsStringAsync();
        Assert.True(callback.StatusCode == HttpStatusCode.Redirect, $"callback answered {(int)callback.StatusCode}: {body}");
        Assert.Equal("/notes?x=1", callback.Headers.Location!.OriginalString);
        Assert.NotNull(browser.SessionCookie);
        var exchange = Assert.Single(_provider.TokenRequests);
        Assert.Equal("code-1", exchange["code"]);
        Assert.Equal(new Uri(relay.Url, "bff/oauth2/callback").ToString(), exchange["redirect_uri"]);
        // PocketBase sent the provider the verifier Relay kept for this browser, and it matches the challenge the browser carried.
        Assert.Equal(challenge, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(exchange["code_verifier"]))));
        var user = await browser.GetJsonAsync("bff/user");
        Assert.Equal(FakeOidcProvider.Email, user.GetProperty("email").GetString());
        Assert.False(user.TryGetProperty("token", out _));
        // Through the proxy PocketBase knows the caller as that user: the users collection shows them their own record.
        var visible = (await browser.GetJsonAsync("api/collections/users/records")).GetProperty("items");
        Assert.Equal(user.GetProperty("id").GetString(), Assert.Single(visible.EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task OAuth2_WrongStateOrReplayOrProviderError_Refused400NoSessionNoCodeExchange()
    {
        await using var relay = RelayServer.Start(_pocketBase.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        var (state, _) = await StartAsync(relay, browser, "/");
        await AssertRefusedAsync(browser, "bff/oauth2/callback?code=code-2&state=not-the-state");
        // The pending sign-in was spent by the refused callback: the right state cannot be replayed afterwards.
        await AssertRefusedAsync(browser, $"bff/oauth2/callback?code=code-2&state={Uri.EscapeDataString(state)}");

        (state, _) = await StartAsync(relay, browser, "/");
        await AssertRefusedAsync(browser, $"bff/oauth2/callback?error=access_denied&state={Uri.EscapeDataString(state)}");

        // Another browser cannot complete this browser's sign-in with the state it saw.
        (state, _) = await StartAsync(relay, browser, "/");
        using var attacker = new BffBrowser(relay.Url);
        await AssertRefusedAsync(attacker, $"bff/oauth2/callback?code=code-3&state={Uri.EscapeDataString(state)}");

        Assert.Empty(_provider.TokenRequests);
        Assert.Null(browser.SessionCookie);
        Assert.Null(attacker.SessionCookie);
    }

    [Fact]
    public async Task OAuth2_ProviderNotEnabledAtPocketBase_404()
    {
        await using var relay = RelayServer.Start(_pocketBase.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.StartOAuth2Async("bff/oauth2/github");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(BffErrorCodes.UnknownProvider, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    /// <summary>Starts a sign-in and returns the state and PKCE challenge the browser was sent to the provider with.</summary>
    private async Task<(string State, string Challenge)> StartAsync(RelayServer relay, BffBrowser browser, string returnUrl)
    {
        using var start = await browser.StartOAuth2Async($"bff/oauth2/oidc?returnUrl={Uri.EscapeDataString(returnUrl)}");
        Assert.True(start.StatusCode == HttpStatusCode.Redirect, $"start answered {(int)start.StatusCode}: {await start.Content.ReadAsStringAsync()}");
        var location = start.Headers.Location!;
        Assert.StartsWith(new Uri(_provider.Url, "authorize").ToString(), location.ToString(), StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.Equal(new Uri(relay.Url, "bff/oauth2/callback").ToString(), query["redirect_uri"].ToString());
        Assert.Equal("S256", query["code_challenge_method"].ToString());
        var pending = Assert.Single(start.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BffBrowser.CookieName + "-oauth2=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("httponly", pending);
        Assert.Contains("samesite=lax", pending);
        return (query["state"].ToString(), query["code_challenge"].ToString());
    }

    private static async Task AssertRefusedAsync(BffBrowser browser, string path)
    {
        using var response = await browser.SendAsync(HttpMethod.Get, path, csrf: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(BffErrorCodes.OAuth2Refused, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }
}
