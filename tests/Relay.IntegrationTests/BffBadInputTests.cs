using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Relay.Bff;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>Malformed, oversized and forged BFF input is refused with a clear 4xx before anything reaches PocketBase.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffBadInputTests(PocketBaseFixture pocketBase)
{
    public static TheoryData<string, string, HttpStatusCode> MalformedLogins => new()
    {
        { "application/json", "{not json", HttpStatusCode.BadRequest },
        { "application/json", "", HttpStatusCode.BadRequest },
        { "application/json", "[]", HttpStatusCode.BadRequest },
        { "application/json", "null", HttpStatusCode.BadRequest },
        { "application/json", "{}", HttpStatusCode.BadRequest },
        { "application/json", """{"identity":5,"password":"x"}""", HttpStatusCode.BadRequest },
        { "application/json", """{"identity":"alice@relay.test"}""", HttpStatusCode.BadRequest },
        { "application/json", """{"identity":"","password":"x"}""", HttpStatusCode.BadRequest },
        { "application/json", "{\"identity\":\"" + new string('a', 400) + "\",\"password\":\"x\"}", HttpStatusCode.BadRequest },
        { "application/json", """{"identity":"alice@relay.test","password":"x","collection":"../admins"}""", HttpStatusCode.BadRequest },
        { "application/json", """{"identity":"alice@relay.test","password":"x","collection":"users/auth-refresh?"}""", HttpStatusCode.BadRequest },
        { "text/plain", """{"identity":"alice@relay.test","password":"x"}""", HttpStatusCode.UnsupportedMediaType },
        { "application/x-www-form-urlencoded", "identity=alice%40relay.test&password=x", HttpStatusCode.UnsupportedMediaType },
    };

    [Theory]
    [MemberData(nameof(MalformedLogins))]
    public async Task Login_MalformedBody_Refused4xxNothingReachesPocketBase(string contentType, string body, HttpStatusCode expected)
    {
        await using var upstream = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(upstream.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.SendAsync(HttpMethod.Post, "bff/login", new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(BffErrorCodes.InvalidRequest, await CodeAsync(response));
        Assert.Equal(0, upstream.Accepted);
        Assert.Null(browser.SessionCookie);
        relay.AssertNoErrorLogs();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Login_OversizedBody_Refused413NothingReachesPocketBase(bool withContentLength)
    {
        await using var upstream = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(upstream.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { identity = "alice@relay.test", password = new string('p', 100_000) }));
        HttpContent content = withContentLength ? new ByteArrayContent(body) : new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new("application/json");
        if (!withContentLength)
        {
            content.Headers.ContentLength = null;
        }

        using var response = await browser.SendAsync(HttpMethod.Post, "bff/login", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(BffErrorCodes.PayloadTooLarge, await CodeAsync(response));
        Assert.Equal(0, upstream.Accepted);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Login_WithoutCsrfHeader_Refused403NothingReachesPocketBase()
    {
        await using var upstream = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(upstream.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var response = await browser.LoginAsync(pocketBase.Alice.Email, pocketBase.Alice.Password, csrf: false);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(BffErrorCodes.CsrfRefused, await CodeAsync(response));
        Assert.Equal(0, upstream.Accepted);
        Assert.Null(browser.SessionCookie);

        // The control: the same sign-in with the header does reach PocketBase through the counting proxy.
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        Assert.True(upstream.Accepted > 0);
    }

    [Fact]
    public async Task Cookie_ForgedOrFromAnotherDeployment_Refused401EverywhereNothingReachesPocketBase()
    {
        // Another deployment (its own Data Protection keys) signs alice in; its cookie must mean nothing here.
        await using var other = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var otherBrowser = new BffBrowser(other.Url);
        await otherBrowser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var foreignCookie = otherBrowser.SessionCookie!;
        await using var upstream = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(upstream.Url, BffSettings.Enabled());

        foreach (var cookie in new[] { foreignCookie, "forged", foreignCookie[..^8] + "AAAAAAAA", new string('x', 3000) })
        {
            using var browser = new BffBrowser(relay.Url);
            foreach (var (method, path) in new[] { (HttpMethod.Get, "bff/user"), (HttpMethod.Get, "api/collections/notes/records"), (HttpMethod.Post, RelayProtocol.HubPath.TrimStart('/') + "/negotiate?negotiateVersion=1") })
            {
                browser.Cookies.Add(relay.Url, new Cookie(BffBrowser.CookieName, cookie));
                using var response = await browser.SendAsync(method, path, csrf: false);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with cookie '{cookie[..Math.Min(12, cookie.Length)]}...' answered {(int)response.StatusCode}");
            }
        }

        Assert.Equal(0, upstream.Accepted);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task OAuth2_BadProviderOrReturnUrlOrCallbackWithoutSignIn_Refused400NothingReachesPocketBase()
    {
        await using var upstream = new TcpProxy(pocketBase.Server.Url);
        await using var relay = RelayServer.Start(upstream.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        foreach (var path in new[]
        {
            "bff/oauth2/Google%2F..",
            "bff/oauth2/google?returnUrl=" + Uri.EscapeDataString("//evil.example/"),
            "bff/oauth2/google?returnUrl=" + Uri.EscapeDataString("/\\evil.example/"),
            "bff/oauth2/google?returnUrl=" + Uri.EscapeDataString("https://evil.example/"),
            "bff/oauth2/google?collection=" + Uri.EscapeDataString("users/x"),
            "bff/oauth2/callback?code=abc&state=def",
        })
        {
            // As a browser following a link on the site sends it: the input checks are under test, not the cross-site one.
            using var response = await browser.StartOAuth2Async(path);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"GET {path} answered {(int)response.StatusCode}");
            Assert.Null(response.Headers.Location);
        }

        Assert.Equal(0, upstream.Accepted);
        relay.AssertNoErrorLogs();
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
}
