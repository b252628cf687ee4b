using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// No client can turn Relay against PocketBase or against other guests: forged tokens from one address cost PocketBase a
/// bounded number of calls, and one address cannot use up the guest session's topic budget or connection slots.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class EdgeLimitTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const string AuthRefresh = "/auth-refresh";
    private const string Attacker = "203.0.113.66";
    private const string Bystander = "198.51.100.40";

    /// <summary>Loopback is the test's "load balancer": its X-Forwarded-For is believed.</summary>
    private static readonly Dictionary<string, string?> BehindTrustedProxy = new() { ["Relay:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" };

    [Fact]
    public async Task ForgedTokens_300FromOneAddress_AtMost60ReachPocketBase_RealUserGetsInAtOnce()
    {
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, AuthRefresh);
        await using var relay = RelayServer.Start(proxy.Url, BehindTrustedProxy);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 400 }) { BaseAddress = relay.Url, Timeout = TimeSpan.FromSeconds(60) };
        var forged = Enumerable.Range(0, 300).Select(_ => ForgeToken(pocketBase.Alice.CollectionId)).ToArray();

        var sending = Stopwatch.StartNew();
        var answers = await Task.WhenAll(forged.Select(token => NegotiateAsync(http, token, Attacker))).WaitAsync(TimeSpan.FromSeconds(60));
        sending.Stop();
        var calls = proxy.Count(AuthRefresh);

        var realUser = Stopwatch.StartNew();
        var (userStatus, _) = await NegotiateAsync(http, pocketBase.Alice.Token, Bystander);
        realUser.Stop();
        await using var userConnection = await ForwardedClient.ConnectAsync(relay.Url, Bystander, pocketBase.Alice.Token);
        // Another real user's token, not yet verified (a cached verdict would cost nothing and pass), from the flooding address.
        var (sameAddressStatus, sameAddressRetryAfter) = await NegotiateAsync(http, pocketBase.Bob.Token, Attacker);

        var byStatus = answers.GroupBy(a => a.Status).OrderBy(g => g.Key).Select(g => $"{(int)g.Key} x{g.Count()}");
        var figures = $"forged tokens: 300 well-formed forged tokens from one address sent in {sending.ElapsedMilliseconds} ms -> {calls} auth-refresh calls reached PocketBase "
            + $"(at most {proxy.MaxInFlight(AuthRefresh)} in flight; answers {string.Join(", ", byStatus)}); a real user from another address then got {(int)userStatus} "
            + $"in {realUser.ElapsedMilliseconds} ms; another user from the flooding address {(int)sameAddressStatus} (Retry-After {sameAddressRetryAfter} s)";
        output.WriteLine(figures);
        await TestResults.AppendAsync(figures);

        Assert.All(answers, a => Assert.Contains(a.Status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.ServiceUnavailable }));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Unauthorized), a => Assert.NotNull(a.RetryAfter));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.TooManyRequests);
        Assert.True(calls <= 60, $"{calls} auth-refresh calls reached PocketBase for 300 forged tokens");
        Assert.Equal(HttpStatusCode.OK, userStatus);
        Assert.Equal(HttpStatusCode.TooManyRequests, sameAddressStatus);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Guests_JunkTopicsFromOneAddress_FreshGuestStillSubscribesAndReceives()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BehindTrustedProxy);
        var attackers = new List<ForwardedClient>();
        var accepted = 0;
        var rateLimited = 0;
        var other = new List<string?>();
        for (var socket = 0; socket < 10; socket++)
        {
            var attacker = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
            attackers.Add(attacker);
            var results = await attacker.SubscribeManyAsync(Enumerable.Range(0, 100).Select(_ => "announcements/" + JunkId()));
            accepted += results.Count(r => r.Error is null);
            rateLimited += results.Count(r => r.Error == RelayErrorCodes.RateLimited);
            other.AddRange(results.Where(r => r.Error is not null && r.Error != RelayErrorCodes.RateLimited).Select(r => r.Error));
        }

        await using var fresh = await ForwardedClient.ConnectAsync(relay.Url, Bystander);
        var subscribed = await fresh.SubscribeManyAsync(["announcements/*"]);
        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "still reaches guests" }).DefaultTimeout();
        var received = await fresh.Events.Reader.ReadAsync().AsTask().DefaultTimeout();

        var figures = $"guest budget: 10 anonymous sockets x 100 junk topics from one address -> {accepted} accepted, {rateLimited} refused rate_limited"
            + $"{(other.Count > 0 ? $", {other.Count} other ({string.Join(",", other.Distinct())})" : "")}; a fresh guest's Subscribe(announcements/*): "
            + $"{subscribed[0].Error ?? "ok"}, its event {(received.Record.GetProperty("id").GetString() == announcement.GetProperty("id").GetString() ? "received" : "missing")}";
        output.WriteLine(figures);
        await TestResults.AppendAsync(figures);

        Assert.Null(subscribed[0].Error);
        Assert.Equal(announcement.GetProperty("id").GetString(), received.Record.GetProperty("id").GetString());
        // The default budget is 60 new topics a minute per address, refilling one a second while the test runs.
        Assert.InRange(accepted, 60, 120);
        Assert.Equal(1000, accepted + rateLimited);
        relay.AssertNoErrorLogs();
        foreach (var attacker in attackers)
        {
            await attacker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Guests_JoiningTopicsOtherGuestsHold_NotRateLimited()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>(BehindTrustedProxy) { ["Relay:GuestLimits:NewTopicsPerIpPerMinute"] = "2" });
        await using var first = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
        Assert.All(await first.SubscribeManyAsync(["announcements/*", "announcements/aaaaaaaaaaaaaaa"]), r => Assert.Null(r.Error));

        // The same address again: both topics are held already, so they cost nothing; a third new one is refused.
        await using var second = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
        var results = await second.SubscribeManyAsync(["announcements/*", "announcements/aaaaaaaaaaaaaaa", "announcements/bbbbbbbbbbbbbbb"]);

        Assert.Equal([null, null, RelayErrorCodes.RateLimited], results.Select(r => r.Error));
    }

    [Fact]
    public async Task Guests_ConnectionsPerAddress_CappedWithTooManyConnections_SlotFreedOnLeave()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>(BehindTrustedProxy) { ["Relay:GuestLimits:MaxConnectionsPerIp"] = "3" });
        var held = new List<ForwardedClient>();
        for (var i = 0; i < 3; i++)
        {
            var client = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
            held.Add(client);

            // SignalR answers the handshake before the hub's OnConnectedAsync (where the slot is taken) has run; a round
            // trip waits for it, so the fourth connection below really is the fourth to take a slot.
            Assert.Empty(await client.SubscribeManyAsync([]));
        }

        await using var fourth = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
        var closedWith = await fourth.Closed.DefaultTimeout();
        await using var elsewhere = await ForwardedClient.ConnectAsync(relay.Url, Bystander);
        await using var user = await ForwardedClient.ConnectAsync(relay.Url, Attacker, pocketBase.Alice.Token);

        Assert.Contains(RelayErrorCodes.TooManyConnections, closedWith?.Message ?? string.Empty, StringComparison.Ordinal);
        // Round trips prove the others stay open: a guest elsewhere, the three admitted, and a user from the same address.
        foreach (var open in held.Append(elsewhere).Append(user))
        {
            Assert.Empty(await open.SubscribeManyAsync([]));
        }

        await held[0].DisposeAsync();
        await relay.WaitForGaugeAsync("relay.connections", 4);
        await using var again = await ForwardedClient.ConnectAsync(relay.Url, Attacker);
        Assert.Empty(await again.SubscribeManyAsync([]));
        relay.AssertNoErrorLogs();
        foreach (var open in held.Skip(1))
        {
            await open.DisposeAsync();
        }
    }

    [Fact]
    public async Task ForwardedFor_FromUntrustedPeer_Ignored()
    {
        // No trusted proxy configured: every socket is the loopback address whatever X-Forwarded-For claims.
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:GuestLimits:MaxConnectionsPerIp"] = "2" });
        await using var first = await ForwardedClient.ConnectAsync(relay.Url, "192.0.2.1");
        await using var second = await ForwardedClient.ConnectAsync(relay.Url, "192.0.2.2");
        await using var third = await ForwardedClient.ConnectAsync(relay.Url, "192.0.2.3");

        var closedWith = await third.Closed.DefaultTimeout();

        Assert.Contains(RelayErrorCodes.TooManyConnections, closedWith?.Message ?? string.Empty, StringComparison.Ordinal);
        Assert.Empty(await second.SubscribeManyAsync([]));
    }

    private static async Task<(HttpStatusCode Status, string? RetryAfter)> NegotiateAsync(HttpClient http, string token, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A token with every claim a PocketBase auth token has, for a real collection, signed with a made-up key.</summary>
    private static string ForgeToken(string collectionId)
    {
        static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
        var header = Encode(new { alg = "HS256", typ = "JWT" });
        var payload = Encode(new { collectionId, exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(), id = JunkId(), type = "authRecord" });
        return $"{header}.{payload}.{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32))}";
    }

    private static string JunkId() => RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 15);
}
