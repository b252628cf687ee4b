using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 9: deployment defaults. PocketBase's rate limiter stays on and counts each browser by the address Relay
/// forwards; Relay's <c>/api/*</c> proxy has its own per-address limit; the scale-out profile's Relay instances believe
/// nginx's forwarded headers, so clients behind it keep their own per-address budgets.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed partial class DeploymentDefaultsTests(PocketBaseFixture pocketBase)
{
    private const string ListCalls = "/records";
    private const string Attacker = "203.0.113.88";
    private const string Bystander = "198.51.100.88";

    [Fact]
    public async Task ApiProxy_OneAddressOverItsBudget_429WithRetryAfterBeforePocketBase_OthersUnaffected_PocketBaseToldTheClientsAddress()
    {
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, ListCalls);
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:ApiRequestsPerMinute"] = "5";
        settings["Relay:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1";
        await using var relay = RelayServer.Start(proxy.Url, settings);
        using var http = new HttpClient { BaseAddress = relay.Url, Timeout = TestTimeouts.Default };

        for (var i = 0; i < 5; i++)
        {
            using var allowed = await ListAsync(http, Attacker);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        Assert.Equal(Attacker, proxy.LastForwardedFor(ListCalls));
        using (var refused = await ListAsync(http, Attacker))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");
            Assert.Equal("rate_limited", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
        }

        Assert.Equal(5, proxy.Count(ListCalls));

        // Another address has its own budget. An address the client made up to the left of the trusted hop is not
        // believed, and never reaches PocketBase: Relay states the one address it saw.
        using (var other = await ListAsync(http, "192.0.2.1, " + Bystander))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        Assert.Equal(Bystander, proxy.LastForwardedFor(ListCalls));
        relay.AssertNoErrorLogs();
    }

    [Theory]
    [InlineData("Relay:Bff:ApiRequestsPerMinute", "0")]
    [InlineData("Relay:FilterChecks:PerIpPerMinute", "0")]
    [InlineData("Relay:FilterChecks:MaxConcurrent", "0")]
    public void Limits_Invalid_HostRefusesToStartNamingTheKey(string key, string value)
    {
        var settings = BffSettings.Enabled();
        settings[key] = value;
        var error = Assert.ThrowsAny<Exception>(() => RelayServer.Start(pocketBase.Server.Url, settings));
        Assert.Contains(key, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ComposeScaleOut_RelayInstancesTrustExactlyTheLoadBalancer_WhichForwardsTheClientsAddress()
    {
        var root = RepositoryRoot();
        var compose = File.ReadAllText(Path.Combine(root, "docker-compose.yml"));
        var nginx = File.ReadAllText(Path.Combine(root, "deploy", "loadbalancer", "nginx.conf"));

        // relay-2 is the same YAML anchor as relay-1, so one environment covers both instances.
        var relayCluster = Section(compose, "  relay-1: &relay-cluster", "  relay-2: *relay-cluster");
        var loadBalancer = Section(compose, "  loadbalancer:", "\nvolumes:");
        var trusted = Default(Assert.Single(TrustedProxy().Matches(relayCluster)).Groups[1].Value);
        var address = Default(Assert.Single(StaticAddress().Matches(loadBalancer)).Groups[1].Value);

        Assert.True(IPAddress.TryParse(address, out _), $"the load balancer's address '{address}' is not an IP address");
        Assert.Equal(address, trusted);
        Assert.Contains("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindTheTrustedLoadBalancer_100GuestSocketsOfOneClient_AnotherClientStillConnects_UntrustedTheyShareOneBudget()
    {
        // Loopback plays nginx here: trusted as the compose profile trusts nginx's address, then (the old default) not.
        foreach (var trusted in new[] { true, false })
        {
            var settings = trusted ? new Dictionary<string, string?> { ["Relay:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" } : [];
            await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
            var sockets = new List<ForwardedClient>();
            try
            {
                for (var i = 0; i < 100; i++)
                {
                    sockets.Add(await ForwardedClient.ConnectAsync(relay.Url, Attacker));
                }

                // A round trip on the last one: its slot is taken once its OnConnectedAsync ran.
                Assert.Empty(await sockets[^1].SubscribeManyAsync([]));
                await using var other = await ForwardedClient.ConnectAsync(relay.Url, Bystander);
                var roundTrip = other.SubscribeManyAsync([]);
                var first = await Task.WhenAny(roundTrip, other.Closed).DefaultTimeout();
                if (trusted)
                {
                    Assert.Same(roundTrip, first);
                    Assert.Empty(await roundTrip);
                }
                else
                {
                    Assert.Contains("too_many_connections", (await other.Closed.DefaultTimeout())?.Message ?? string.Empty, StringComparison.Ordinal);
                }
            }
            finally
            {
                await Task.WhenAll(sockets.Select(s => s.DisposeAsync().AsTask()));
            }
        }
    }

    private static async Task<HttpResponseMessage> ListAsync(HttpClient http, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/collections/announcements/records?perPage=1");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await http.SendAsync(request).DefaultTimeout();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "docker-compose.yml")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("docker-compose.yml not found above " + AppContext.BaseDirectory);
    }

    private static string Section(string text, string from, string to)
    {
        var start = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{from}' not found in docker-compose.yml");
        var end = text.IndexOf(to, start, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    /// <summary>The value compose uses when the variable is unset: <c>${NAME:-value}</c> gives value.</summary>
    private static string Default(string value)
    {
        var match = Regex.Match(value, @"^\$\{[A-Z0-9_]+:-([^}]*)\}$");
        return match.Success ? match.Groups[1].Value : value;
    }

    [GeneratedRegex(@"Relay__ForwardedHeaders__KnownProxies__0:\s*(\S+)")]
    private static partial Regex TrustedProxy();

    [GeneratedRegex(@"ipv4_address:\s*(\S+)")]
    private static partial Regex StaticAddress();
}
