using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>A browser in BFF mode: one cookie jar for REST calls to Relay and its hub connections, and no token anywhere.</summary>
public sealed class BffBrowser : IDisposable
{
    public const string CookieName = "relay-session";

    private readonly HttpClient _http;

    public BffBrowser(Uri relayUrl)
    {
        RelayUrl = relayUrl;
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, UseCookies = true, AllowAutoRedirect = false })
        {
            BaseAddress = relayUrl,
            Timeout = TestTimeouts.Default,
        };
    }

    public Uri RelayUrl { get; }

    public CookieContainer Cookies { get; } = new();

    /// <summary>The session cookie's value, or null when the jar has none.</summary>
    public string? SessionCookie => Cookies.GetCookies(RelayUrl)[CookieName]?.Value;

    public async Task<HttpResponseMessage> LoginAsync(string identity, string password, bool csrf = true)
        => await SendAsync(HttpMethod.Post, "bff/login", JsonContent.Create(new { identity, password }), csrf);

    /// <summary>Signs in and fails the test unless Relay accepted it.</summary>
    public async Task<JsonElement> LoginOkAsync(string identity, string password)
    {
        using var response = await LoginAsync(identity, password);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"login answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public Task<HttpResponseMessage> LogoutAsync() => SendAsync(HttpMethod.Post, "bff/logout", content: null, csrf: true);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null, bool csrf = true, string? origin = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (csrf)
        {
            request.Headers.Add("X-CSRF", "1");
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await _http.SendAsync(request).DefaultTimeout();
    }

    /// <summary>GETs <paramref name="path"/> and returns the JSON body, failing the test on any other status than 200.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path, csrf: false);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Follows a link on the site's own page to an OAuth2 start, as a browser does: <c>Sec-Fetch-Site: same-origin</c>.</summary>
    public async Task<HttpResponseMessage> StartOAuth2Async(string path, string fetchSite = "same-origin")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Sec-Fetch-Site", fetchSite);
        return await _http.SendAsync(request).DefaultTimeout();
    }

    public Task<TestConnection> ConnectHubAsync() => TestConnection.StartAsync(RelayUrl, token: null, messagePack: false, Cookies).DefaultTimeout();

    public void Dispose() => _http.Dispose();
}
