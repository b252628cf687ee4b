using System.Net;
using System.Text;
using System.Text.Json;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// SignalR's HTTP transports spoken by hand, as an attacker's script (or a victim's browser made to send one request)
/// would: negotiate, long-polling GETs, sends as POSTs, an SSE GET. Every request says exactly which headers it carries.
/// </summary>
internal sealed class RawHubClient : IDisposable
{
    public const char RecordSeparator = '\u001e';

    private readonly HttpClient _http;

    /// <param name="relayUrl">Relay's base address.</param>
    /// <param name="cookies">The cookie jar this client sends (a victim's browser), or null for none (an attacker).</param>
    /// <param name="headers">Headers every request carries (Origin, Sec-Fetch-Site, Authorization).</param>
    public RawHubClient(Uri relayUrl, CookieContainer? cookies = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        _http = new HttpClient(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), UseCookies = cookies is not null, AllowAutoRedirect = false })
        {
            BaseAddress = relayUrl,
            Timeout = TestTimeouts.Default,
        };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            _http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }
    }

    public static string Handshake => "{\"protocol\":\"json\",\"version\":1}" + RecordSeparator;

    public static string Invocation(string invocationId, string target, params object?[] arguments)
        => JsonSerializer.Serialize(new { type = 1, invocationId, target, arguments }) + RecordSeparator;

    private static string HubPath => RelayProtocol.HubPath.TrimStart('/');

    /// <summary>POST negotiate; the answer's status and, on 200, its JSON.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> NegotiateAsync()
    {
        using var response = await _http.PostAsync(HubPath + "/negotiate?negotiateVersion=1", content: null).DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>Negotiates and returns the connection token (what <c>?id=</c> carries), failing the test on a refusal.</summary>
    public async Task<string> NegotiateTokenAsync()
    {
        var (status, body) = await NegotiateAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("connectionToken").GetString()!;
    }

    /// <summary>One long-polling GET: its status and whatever it carried.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PollAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync($"{HubPath}?id={Uri.EscapeDataString(id)}", cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>One send (POST) of <paramref name="payload"/> on connection <paramref name="id"/>.</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendAsync(string id, string payload)
    {
        using var response = await _http.PostAsync($"{HubPath}?id={Uri.EscapeDataString(id)}", new StringContent(payload, Encoding.UTF8, "text/plain")).DefaultTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>One DELETE (long polling's close) of connection <paramref name="id"/>.</summary>
    public async Task<HttpStatusCode> CloseAsync(string id)
    {
        using var response = await _http.DeleteAsync($"{HubPath}?id={Uri.EscapeDataString(id)}").DefaultTimeout();
        return response.StatusCode;
    }

    /// <summary>Opens the SSE transport of connection <paramref name="id"/>: the status, and the response to read from (or dispose).</summary>
    public async Task<HttpResponseMessage> OpenSseAsync(string id)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"{HubPath}?id={Uri.EscapeDataString(id)}");
        request.Headers.Accept.ParseAdd("text/event-stream");
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
    }

    public void Dispose() => _http.Dispose();
}
