using System.Net;
using System.Text.Json;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// PocketBase's own rate limiter (0.23+, opt-in, keyed by client address: behind Relay every user is Relay's address)
/// switched on in the real PocketBase of the run. 0.22 has none: there the same load simply passes.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class PocketBaseLiveRateLimitTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Users = 20;
    private const int TabsPerUser = 3;

    [Fact]
    public async Task DefaultRulesOn_TwentyUsersWithThreeTabsEach_RelaysCallsStayWithinThem_EveryoneServed()
    {
        // Users are made before the limiter is on: signing in is under PocketBase's "*:auth" rule (2 per 3 s).
        var users = new List<PocketBaseUser>();
        for (var i = 0; i < Users; i++)
        {
            users.Add(await pocketBase.CreateUserAsync($"limited{i}"));
        }

        await using var limiter = await RateLimiter.SwitchOnAsync(pocketBase, rules: null);
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, "/auth-refresh", "/realtime");
        await using var relay = RelayServer.Start(proxy.Url);
        var tabs = new List<(PocketBaseUser User, TestConnection Tab)>();
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");
        foreach (var user in users)
        {
            for (var t = 0; t < TabsPerUser; t++)
            {
                var tab = await relay.ConnectAsync(user.Token);
                await tab.SubscribeAsync("notes/*");
                await tab.SubscribeAsync("announcements/*");
                tabs.Add((user, tab));
            }
        }

        var notes = new Dictionary<string, string>();
        foreach (var user in users)
        {
            notes[user.Id] = (await pocketBase.Admin.CreateRecordAsync("notes", new { title = "mine", owner = user.Id }).DefaultTimeout()).GetProperty("id").GetString()!;
        }

        var announcement = (await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "for all" }).DefaultTimeout()).GetProperty("id").GetString()!;
        foreach (var (user, tab) in tabs)
        {
            var ids = new[] { (await tab.NextEventAsync()).Record.GetProperty("id").GetString(), (await tab.NextEventAsync()).Record.GetProperty("id").GetString() };
            Assert.Equal(new[] { notes[user.Id], announcement }.Order(), ids.Order());
        }

        await guest.NextEventAsync("create", announcement);
        var refused = await limiter.RefusedSinceSwitchedOnAsync();
        var calls = proxy.Count("/auth-refresh") + proxy.Count("/realtime");
        var line = $"PocketBase {pocketBase.Server.Version} rate limiter {(limiter.Exists ? "on, default rules (/api/: 300 per 10 s per address)" : "(none in this version)")}: "
            + $"{Users} users x {TabsPerUser} tabs + a guest, 2 topics each: Relay made {proxy.Count("/auth-refresh")} auth-refresh and {proxy.Count("/realtime")} realtime calls "
            + $"({(double)calls / Users:0.0} per user), refused by PocketBase: {refused}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.Equal(0, refused);
        // Per user: one verification (its tabs share the cached verdict), one stream, one POST per new topic (2); the
        // other tabs joining with the same token cost nothing. The guest session: a stream and a POST.
        Assert.True(calls <= (Users * 4) + 2, line);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RulesTighterThanRelaysBurst_NewConnectsGet503WithRetryAfter_NeverUnauthorized_LiveSessionsKeepDelivering()
    {
        var fresh = new List<PocketBaseUser>();
        for (var i = 0; i < 8; i++)
        {
            fresh.Add(await pocketBase.CreateUserAsync($"burst{i}"));
        }

        var user = await pocketBase.CreateUserAsync("live");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var live = await relay.ConnectAsync(user.Token);
        await live.SubscribeAsync("notes/*");

        // All of /api/ from one address: 6 requests per 10 s.
        await using var limiter = await RateLimiter.SwitchOnAsync(pocketBase, [new { label = "/api/", audience = "", duration = 10, maxRequests = 6 }]);
        var statuses = new List<(HttpStatusCode Status, string? RetryAfter)>();
        foreach (var candidate in fresh)
        {
            statuses.Add(await NegotiateAsync(relay, candidate.Token));
        }

        // Writes by the superuser are not limited; the live session's stream is already open and keeps delivering.
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "during the limit", owner = user.Id }).DefaultTimeout();
        await live.NextEventAsync("create", note.GetProperty("id").GetString()!);
        var line = $"PocketBase {pocketBase.Server.Version} rate limiter {(limiter.Exists ? "on, /api/ 6 per 10 s" : "(none in this version)")}: 8 new users connecting at once: "
            + string.Join(", ", statuses.GroupBy(s => s.Status).Select(g => $"{(int)g.Key} x{g.Count()}")) + $"; PocketBase refused {await limiter.RefusedSinceSwitchedOnAsync()} calls; the live session kept delivering";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.DoesNotContain(statuses, s => s.Status == HttpStatusCode.Unauthorized);
        if (limiter.Exists)
        {
            Assert.Contains(statuses, s => s.Status == HttpStatusCode.ServiceUnavailable);
            Assert.All(statuses.Where(s => s.Status == HttpStatusCode.ServiceUnavailable), s => Assert.False(string.IsNullOrEmpty(s.RetryAfter)));
        }
        else
        {
            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s.Status));
        }
    }

    private static async Task<(HttpStatusCode, string?)> NegotiateAsync(RelayServer relay, string token)
    {
        using var http = new HttpClient { BaseAddress = relay.Url };
        using var response = await http.PostAsync($"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}", content: null).DefaultTimeout();
        return (response.StatusCode, response.Headers.RetryAfter?.ToString());
    }

    /// <summary>PocketBase's rate limiter switched on for one test (0.23+; a no-op on 0.22), its settings put back after.</summary>
    private sealed class RateLimiter : IAsyncDisposable
    {
        private readonly PocketBaseFixture _pocketBase;
        private readonly JsonElement _before;
        private readonly string _since;

        private RateLimiter(PocketBaseFixture pocketBase, JsonElement before, string since)
        {
            _pocketBase = pocketBase;
            _before = before;
            _since = since;
        }

        public bool Exists => _pocketBase.Server.Version.HasSuperuserCollection;

        /// <param name="pocketBase">The PocketBase of the run.</param>
        /// <param name="rules">Rules replacing PocketBase's defaults; null keeps the defaults.</param>
        public static async Task<RateLimiter> SwitchOnAsync(PocketBaseFixture pocketBase, object[]? rules)
        {
            var since = DateTime.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            if (!pocketBase.Server.Version.HasSuperuserCollection)
            {
                return new RateLimiter(pocketBase, default, since);
            }

            var before = (await pocketBase.Admin.SendAsync(HttpMethod.Get, "api/settings", body: null, token: null).DefaultTimeout()).GetProperty("rateLimits").Clone();
            object limits = rules is null ? new { enabled = true } : new { enabled = true, rules };
            await pocketBase.Admin.SendAsync(HttpMethod.Patch, "api/settings", new { rateLimits = limits }, token: null).DefaultTimeout();
            return new RateLimiter(pocketBase, before, since);
        }

        /// <summary>Requests PocketBase answered 429 since it was switched on, from its own request log (written in batches: read until it settles).</summary>
        public async Task<int> RefusedSinceSwitchedOnAsync()
        {
            if (!Exists)
            {
                return 0;
            }

            var filter = Uri.EscapeDataString($"data.status = 429 && created >= '{_since}'");
            var last = -1;
            for (var attempt = 0; attempt < 10; attempt++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                var page = await _pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/logs?perPage=1&filter={filter}", body: null, token: null).DefaultTimeout();
                var count = page.GetProperty("totalItems").GetInt32();
                if (count == last && attempt >= 3)
                {
                    return count;
                }

                last = count;
            }

            return last;
        }

        public async ValueTask DisposeAsync()
        {
            if (Exists)
            {
                await _pocketBase.Admin.SendAsync(HttpMethod.Patch, "api/settings", new { rateLimits = _before }, token: null).DefaultTimeout();
            }
        }
    }
}
