using System.Net;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;
using Relay.Hosting;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests;

/// <summary>What an operator relies on at the edge: draining sheds new clients, logs never hold tokens, probes and scrapes can live on their own port.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class EdgeOperationsTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Draining_NewNegotiatesAndConnects_503WithRetryAfter()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        using var http = new HttpClient { BaseAddress = relay.Url };
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync(http, token: null)).StatusCode);

        await relay.Services.GetRequiredService<RelayDrainService>().StoppingAsync(CancellationToken.None).DefaultTimeout();

        using var negotiate = await NegotiateAsync(http, pocketBase.Alice.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, negotiate.StatusCode);
        Assert.NotNull(negotiate.Headers.RetryAfter);
        // A WebSocket connect without negotiation is a new connection too.
        var connect = await Record.ExceptionAsync(() => TestConnection.StartAsync(relay.Url, token: null, messagePack: false).DefaultTimeout());
        Assert.NotNull(connect);
        Assert.Equal(0, relay.Gauge("relay.connections"));
    }

    [Fact]
    public async Task Logs_SignalRCategoriesSetToTrace_HubArgumentsAndTokensStillNeverLogged()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.SignalR"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Http.Connections"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Verbose",
            ["Logging:LogLevel:Default"] = "Trace",
        });
        var user = await pocketBase.CreateUserAsync("logged");
        await using var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        // Reauthenticate carries the token as a hub argument, which SignalR's dispatcher logs at Debug.
        await tab.ReauthenticateAsync(user.Token);
        using var http = new HttpClient { BaseAddress = relay.Url };
        using var negotiate = await NegotiateAsync(http, user.Token);

        var secrets = new[] { user.Token, user.Token.Split('.')[2] };
        Assert.Contains(relay.Logs.Entries, e => e.Level <= Microsoft.Extensions.Logging.LogLevel.Debug);
        foreach (var entry in relay.Logs.Entries)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, entry.Text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task ManagementUrls_MetricsAndHealthOnlyOnManagementPort()
    {
        var managementPort = PocketBaseServer.FreePort();
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:ManagementUrls:0"] = $"http://127.0.0.1:{managementPort}" });
        using var http = new HttpClient();
        var management = new Uri($"http://127.0.0.1:{managementPort}/");

        Assert.NotEqual(managementPort, relay.Url.Port);
        foreach (var path in new[] { "metrics", "health/live", "health/ready" })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(management, path)).DefaultTimeout()).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(relay.Url, path)).DefaultTimeout()).StatusCode);
            // The Host header is the client's to write; the port the request arrived on is not.
            using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(relay.Url, path));
            spoofed.Headers.Host = $"127.0.0.1:{managementPort}";
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(spoofed).DefaultTimeout()).StatusCode);
        }

        await using var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*");
    }

    [Fact]
    public async Task Reauthenticate_TokenRevokedSinceConnect_RefusedDespiteCachedVerdict()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Auth:VerificationCacheDuration"] = "00:05:00" });
        var user = await pocketBase.CreateUserAsync("revoked");
        await using var tab = await relay.ConnectAsync(user.Token);

        // A password change rotates the user's token key: PocketBase refuses the old token from now on.
        await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { password = "changed-password-1", passwordConfirm = "changed-password-1" }).DefaultTimeout();
        var refused = await Assert.ThrowsAsync<HubException>(() => tab.ReauthenticateAsync(user.Token));

        Assert.Equal(RelayErrorCodes.InvalidToken, RelayErrorCodes.FromMessage(refused.Message));
    }

    private static Task<HttpResponseMessage> NegotiateAsync(HttpClient http, string? token)
    {
        var path = $"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1" + (token is null ? "" : $"&access_token={Uri.EscapeDataString(token)}");
        return http.PostAsync(path, content: null).DefaultTimeout();
    }
}
