using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 3: <c>Subscribe</c> and <c>SubscribeMany</c> charge their budgets before any work, and the PocketBase
/// list call that checks a filter is bounded per client address and in flight overall. Measured black-box: a counting
/// proxy in front of PocketBase counts the list calls the attack costs it.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SubscribeBudgetTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const string ListCalls = "/records";
    private const string Attacker = "203.0.113.77";
    private const string Bystander = "198.51.100.77";

    /// <summary>Loopback is the test's "load balancer": its X-Forwarded-For is believed.</summary>
    private static readonly Dictionary<string, string?> BehindTrustedProxy = new() { ["Relay:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" };

    [Fact]
    public async Task Guests_10SocketsOneAddress_3SubscribeManyOf100Filters_AtMost120ListCallsReachPocketBase_BystanderStillSubscribes()
    {
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, ListCalls);
        await using var relay = RelayServer.Start(proxy.Url, BehindTrustedProxy);
        var sockets = new List<ForwardedClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                sockets.Add(await ForwardedClient.ConnectAsync(relay.Url, Attacker));
            }

            var answers = await Task.WhenAll(sockets.Select((socket, s) => AttackAsync(socket.Hub, "announcements/*", s)));
            var calls = proxy.Count(ListCalls);
            var results = answers.SelectMany(r => r).ToList();
            var accepted = results.Count(r => r.Error is null);
            var byError = string.Join(", ", results.Where(r => r.Error is not null).GroupBy(r => r.Error).Select(g => $"{g.Key} x{g.Count()}"));

            // The bystander's own filtered subscription is checked and accepted: the attack spent only the attacker's budget.
            await using var bystander = await ForwardedClient.ConnectAsync(relay.Url, Bystander);
            var own = await SubscribeManyAsync(bystander.Hub, [Filtered("announcements/*", "title != 'bystander'")]);

            var figures = $"subscribe budget (guests): 10 sockets from one address x 3 SubscribeMany of 100 distinct filters -> {calls} filter list calls reached PocketBase "
                + $"(at most {proxy.MaxInFlight(ListCalls)} in flight); {accepted} accepted, {byError}";
            output.WriteLine(figures);
            await TestResults.AppendAsync(figures);

            Assert.True(calls <= 120, figures);
            Assert.Null(Assert.Single(own).Error);
            relay.AssertNoErrorLogs();
        }
        finally
        {
            await Task.WhenAll(sockets.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task User_3SubscribeManyOf100Filters_ListCallsBoundedByTheAddressBudgetAndInFlight_BadFilterStillRefused()
    {
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, ListCalls);
        await using var relay = RelayServer.Start(proxy.Url, BehindTrustedProxy);
        await using var socket = await ForwardedClient.ConnectAsync(relay.Url, Attacker, pocketBase.Alice.Token);

        var attack = System.Diagnostics.Stopwatch.StartNew();
        var bad = await SubscribeManyAsync(socket.Hub, [Filtered("notes/*", "no_such_field ~~ 'x'")]);
        // One bare topic with 100 options each time: each entry replaces the last on the connection, so the connection's
        // own limit (100 subscriptions) is never what stops it; every entry is still a new PocketBase topic to check.
        var results = await AttackAsync(socket.Hub, "notes/*", 0);

        attack.Stop();
        var calls = proxy.Count(ListCalls);
        // The address's bucket holds 120 and refills 2 a second while the attack runs (on a loaded machine, seconds).
        var bound = 120 + (int)Math.Ceiling(attack.Elapsed.TotalSeconds * 2);
        var byError = string.Join(", ", results.Where(r => r.Error is not null).GroupBy(r => r.Error).Select(g => $"{g.Key} x{g.Count()}"));
        var figures = $"subscribe budget (a user): 1 bad filter then 3 SubscribeMany of 100 distinct filters from one address in {attack.ElapsedMilliseconds} ms -> {calls} filter list calls reached PocketBase "
            + $"(at most {proxy.MaxInFlight(ListCalls)} in flight; bound {bound}); {results.Count(r => r.Error is null)} accepted, {byError}";
        output.WriteLine(figures);
        await TestResults.AppendAsync(figures);

        Assert.Equal(RelayErrorCodes.SubscriptionRefused, Assert.Single(bad).Error);
        Assert.True(calls <= bound, figures);
        Assert.True(proxy.MaxInFlight(ListCalls) <= 8, figures);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Guests_100SocketsOneAddress_SameNewFilteredTopicAtOnce_AllAccepted_OneListCall()
    {
        // A deploy's burst of reconnects: every tab asks for the same topic no one holds yet. The first pays and checks,
        // the others join its claim; none is refused for a budget the burst did not really spend.
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, ListCalls);
        await using var relay = RelayServer.Start(proxy.Url, BehindTrustedProxy);
        var sockets = new List<ForwardedClient>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                sockets.Add(await ForwardedClient.ConnectAsync(relay.Url, Attacker));
            }

            var topic = Filtered("announcements/*", $"title != 'burst-{Guid.NewGuid():N}'");
            var results = (await Task.WhenAll(sockets.Select(socket => SubscribeManyAsync(socket.Hub, [topic])))).SelectMany(r => r).ToList();

            Assert.All(results, r => Assert.Null(r.Error));
            Assert.Equal(1, proxy.Count(ListCalls));
            relay.AssertNoErrorLogs();
        }
        finally
        {
            await Task.WhenAll(sockets.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    private static SubscribeRequest Filtered(string topic, string filter)
        => new() { Topic = topic, Options = new SubscriptionOptions { Query = new Dictionary<string, string> { ["filter"] = filter } } };

    private static async Task<SubscribeResult[]> AttackAsync(HubConnection hub, string topic, int socket)
    {
        var all = new List<SubscribeResult>();
        for (var call = 0; call < 3; call++)
        {
            var requests = Enumerable.Range(0, 100).Select(n => Filtered(topic, $"id != 'x{socket}x{call}x{n}'")).ToArray();
            all.AddRange(await SubscribeManyAsync(hub, requests));
        }

        return [.. all];
    }

    private static Task<SubscribeResult[]> SubscribeManyAsync(HubConnection hub, SubscribeRequest[] requests)
        => hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), requests).WaitAsync(TimeSpan.FromSeconds(60));
}
