using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Sessions;

namespace Relay.IntegrationTests;

/// <summary>Only tokens PocketBase itself accepts open a connection, and no token ever reaches a log.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class AuthTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Connect_ForgedToken_Refused401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        // Alice's own claims with a signature PocketBase did not make.
        var parts = pocketBase.Alice.Token.Split('.');
        var forged = $"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes("not-the-signature-of-this-token"))}";

        Assert.Equal(HttpStatusCode.Unauthorized, await NegotiateAsync(relay, forged));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => StartHubAsync(relay, forged));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Equal(0, relay.Gauge("relay.connections"));
    }

    [Fact]
    public async Task Connect_ExpiredToken_Refused401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var parts = pocketBase.Alice.Token.Split('.');
        var claims = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        claims["exp"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        var expired = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{parts[2]}";

        Assert.Equal(HttpStatusCode.Unauthorized, await NegotiateAsync(relay, expired));
        Assert.Equal(HttpStatusCode.Unauthorized, await NegotiateAsync(relay, "garbage"));
    }

    [Fact]
    public async Task Connect_ValidTokenInQueryOrHeader_Accepted()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);

        Assert.Equal(HttpStatusCode.OK, await NegotiateAsync(relay, pocketBase.Alice.Token));
        Assert.Equal(HttpStatusCode.OK, await NegotiateAsync(relay, pocketBase.Alice.Token, asHeader: true));
        Assert.Equal(HttpStatusCode.OK, await NegotiateAsync(relay, token: null));
    }

    [Fact]
    public async Task Connect_NoTokenWhenAnonymousDisabled_Refused401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:AllowAnonymous"] = "false" });

        Assert.Equal(HttpStatusCode.Unauthorized, await NegotiateAsync(relay, token: null));
        Assert.Equal(HttpStatusCode.OK, await NegotiateAsync(relay, pocketBase.Alice.Token));
    }

    [Fact]
    public async Task Connect_PocketBaseUnreachable_Refused503()
    {
        await using var relay = RelayServer.Start(new Uri("http://127.0.0.1:9/"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await NegotiateAsync(relay, pocketBase.Alice.Token));
    }

    [Fact]
    public async Task Logs_NeverContainTokens()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*");
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "logged?", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        await NegotiateAsync(relay, pocketBase.Alice.Token);
        await NegotiateAsync(relay, pocketBase.Alice.Token + "x");

        var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(pocketBase.Alice.CollectionId, pocketBase.Alice.Id));
        var secrets = new[] { pocketBase.Alice.Token, session!.Token!, pocketBase.Alice.Token.Split('.')[2] };
        Assert.NotEmpty(relay.Logs.Entries);
        Assert.Contains(relay.Logs.Entries, e => e.Text.Contains("/realtime", StringComparison.Ordinal));
        foreach (var entry in relay.Logs.Entries)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, entry.Text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Cors_ConfiguredOriginAllowed_OthersNot()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:AllowedOrigins:0"] = "http://app.test:5173",
            ["Relay:AllowAnonymous"] = "false",
        });
        using var http = new HttpClient { BaseAddress = relay.Url };

        async Task<string?> PreflightAsync(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, $"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "authorization,x-requested-with");
            using var response = await http.SendAsync(request).DefaultTimeout();
            Assert.True(response.IsSuccessStatusCode, $"preflight answered {(int)response.StatusCode}");
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
        }

        Assert.Equal("http://app.test:5173", await PreflightAsync("http://app.test:5173"));
        Assert.Null(await PreflightAsync("http://evil.test"));
    }

    private static async Task<HttpStatusCode> NegotiateAsync(RelayServer relay, string? token, bool asHeader = false)
    {
        using var http = new HttpClient { BaseAddress = relay.Url };
        var path = $"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1";
        using var request = new HttpRequestMessage(HttpMethod.Post, token is null || asHeader ? path : $"{path}&access_token={Uri.EscapeDataString(token)}");
        if (token is not null && asHeader)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request).DefaultTimeout();
        return response.StatusCode;
    }

    private static async Task StartHubAsync(RelayServer relay, string token)
    {
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(relay.Url, RelayProtocol.HubPath), options =>
            {
                options.Transports = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();
        await hub.StartAsync().DefaultTimeout();
    }
}
