using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Relay.Diagnostics;
using Relay.IntegrationTests.Infrastructure;
using Relay.SharedStreams;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// Issue 22, item 7: the randomized isolation soak. Users (1–3 tabs each, real <see cref="Relay.Client.RelayClient"/>
/// connections) and guests subscribe through an in-process Relay to collections whose rules are per user (owner,
/// member), by role, public, by record, and by signed-in; an admin writes at a steady rate while roles change, users
/// are deleted or their tokens revoked, tabs close, users sign out and new tabs open. Every viewer also holds its own stream straight to
/// PocketBase: the reference for what PocketBase sends that viewer. 0 leaks, 0 misses (<see cref="IsolationSoakOracle"/>).
/// Short by default (<see cref="DefaultDeliveries"/>, <see cref="DefaultUsers"/>); <c>RELAY_SOAK_DELIVERIES=100000</c> runs the full soak (40 users),
/// <c>RELAY_SOAK_SEED</c> replays a run (the seed is printed).
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class IsolationSoakTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    // The default run (CI, every version) is short: fewer users, as signing them up costs 0.22.20 half a second each.
    private const int DefaultDeliveries = 6_000;
    private const int DefaultUsers = 24;
    private const int FullUsers = 40;
    private const int Guests = 4;
    private static readonly TimeSpan OperationInterval = TimeSpan.FromMilliseconds(40);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Soak_RandomWritesAndTransitions_NoLeakNoMiss(bool sharing)
    {
        var full = int.TryParse(Environment.GetEnvironmentVariable("RELAY_SOAK_DELIVERIES"), out var asked) && asked > 0;
        var target = full ? asked : DefaultDeliveries;
        var (verdict, liveReconnects, errors, disagreements) = await RunAsync(sharing, full ? FullUsers : DefaultUsers, Guests, target, transitionPercent: 8);

        Assert.True(verdict.Deliveries >= target, $"only {verdict.Deliveries} of {target} deliveries");
        Assert.True(verdict.Leaks.Count == 0, $"{verdict.Leaks.Count} leaks, first: {verdict.Leaks.FirstOrDefault()}");
        Assert.True(verdict.Misses.Count == 0, $"{verdict.Misses.Count} misses, first: {verdict.Misses.FirstOrDefault()}");
        // A live viewer's direct stream that dropped would leave the reference incomplete (hidden misses).
        Assert.Equal(0, liveReconnects);
        Assert.True(errors.Count == 0, $"error logs: {errors.FirstOrDefault()}");
        // Shadow verification (#22 item 4) compares class streams with sampled users' own: it must never disagree here.
        Assert.Equal(0, disagreements);
    }

    /// <summary>
    /// The judge can fail: one tab of user 0 connects with user 1's token, as a Relay that mixed two users' sessions
    /// would serve it. User 1's own records reach it (leaks) and user 0's do not (misses).
    /// </summary>
    [Fact]
    public async Task Judge_TabServedAnotherUsersEvents_CountsLeaksAndMisses()
    {
        var (verdict, _, _, _) = await RunAsync(sharing: false, users: 4, guests: 1, target: 800, transitionPercent: 0, tamper: (world, relay) =>
            IsolationSoakTab.OpenAsync(world.Viewers[0], relay.Url, [.. world.Collections.Select(static c => c + "/*")], () => world.Started, token: world.Viewers[1].Token));

        Assert.NotEmpty(verdict.Leaks);
        Assert.NotEmpty(verdict.Misses);
    }

    private async Task<(IsolationSoakVerdict Verdict, int LiveReconnects, List<string> Errors, long Disagreements)> RunAsync(
        bool sharing, int users, int guests, int target, int transitionPercent, Func<IsolationSoakWorld, RelayServer, Task>? tamper = null)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RELAY_SOAK_SEED"), out var given) ? given : Random.Shared.Next();
        output.WriteLine($"seed {seed}, target {target} deliveries, sharing {(sharing ? "on" : "off")}, PocketBase {pocketBase.Version}");
        var stopwatch = Stopwatch.StartNew();
        var world = await IsolationSoakWorld.CreateAsync(pocketBase.Admin, new Random(seed), users, guests);
        var setUp = stopwatch.Elapsed;
        try
        {
            await using var relay = RelayServer.Start(pocketBase.Server.Url, Settings(sharing));
            var meters = relay.Services.GetRequiredService<IMeterFactory>();
            using var comparisons = new MetricCollector<long>(meters, RelayMetrics.MeterName, "relay.shared.shadow.comparisons");
            using var disagreements = new MetricCollector<long>(meters, RelayMetrics.MeterName, "relay.shared.shadow.disagreements");
            using var commitLag = new MetricCollector<double>(meters, RelayMetrics.MeterName, "relay.shared.commit_lag");
            if (sharing)
            {
                await WaitForRulesAsync(relay, world);
            }

            await Task.WhenAll(world.Viewers.Append(world.Reference).Select(viewer => viewer.StartDirectAsync(pocketBase.Server.Url))).WaitAsync(TimeSpan.FromSeconds(60));
            await OpenTabsAsync(world, relay);
            if (tamper is not null)
            {
                await tamper(world, relay).WaitAsync(TestTimeouts.Default);
            }

            var transitions = new IsolationSoakTransitions(world, relay.Url);
            var cap = stopwatch.Elapsed + TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(target * 10.0);
            using var timer = new PeriodicTimer(OperationInterval);
            var operations = 0;
            while (Delivered(world) < target && stopwatch.Elapsed < cap)
            {
                await timer.WaitForNextTickAsync().AsTask().DefaultTimeout();
                if (world.Random.Next(100) < transitionPercent)
                {
                    await transitions.NextAsync();
                }
                else
                {
                    await world.WriteAsync();
                }

                operations++;
            }

            await transitions.SettleAsync();
            await DrainAsync(world);
            foreach (var viewer in world.Viewers.Append(world.Reference))
            {
                await viewer.StopAsync();
            }

            var verdict = IsolationSoakOracle.Judge(world);
            if (Environment.GetEnvironmentVariable("RELAY_SOAK_DUMP") is { Length: > 0 } dump)
            {
                await File.WriteAllLinesAsync(dump, world.Viewers.Select(static v => $"VIEWER {v.Name} id={v.Id} role={v.Role} dead={v.TokenDead}")
                    .Concat(relay.Logs.Entries.Select(static e => $"{e.Timestamp:HH:mm:ss.fff} {e.Level} {e.EventId.Id} {e.Category}: {e.Text}")));
            }

            var errors = relay.Logs.Entries.Where(static e => e.Level >= LogLevel.Error).Select(static e => $"{e.Category}: {e.Text}").ToList();
            var liveReconnects = world.Viewers.Where(static v => v.TokenDead is null).Sum(static v => v.DirectReconnects);
            var deadReconnects = world.Viewers.Where(static v => v.TokenDead is not null).Sum(static v => v.DirectReconnects);
            var disagreed = disagreements.GetMeasurementSnapshot().Sum(static m => m.Value);
            var lags = commitLag.GetMeasurementSnapshot().Select(static m => m.Value).Order().ToArray();
            var figures = $"Isolation soak{(tamper is null ? "" : " (judge check, tampered)")} on PocketBase {pocketBase.Version}, sharing {(sharing ? "on" : "off")}, seed {seed}: "
                + $"{verdict.Deliveries} deliveries ({verdict.Owed} owed), {verdict.Leaks.Count} leaks, {verdict.Misses.Count} misses, "
                + $"{verdict.Resyncs} resyncs ({verdict.ExcusedByResync} events covered by one), {verdict.Duplicates} duplicates, "
                + $"{verdict.AllowedAsGuest} to dead tokens as a guest's; {operations} operations ({transitions}), "
                + $"{verdict.DirectEvents} events on {world.Viewers.Count} direct streams, {liveReconnects} direct reconnects of live viewers ({deadReconnects} of users with dead tokens), "
                + $"shadow: {comparisons.GetMeasurementSnapshot().Sum(static m => m.Value)} comparisons, {disagreed} disagreements; "
                + $"commit lag p50/p99 {Percentile(lags, 0.50):F0}/{Percentile(lags, 0.99):F0} ms over {lags.Length} events; "
                + $"{errors.Count} error logs, {stopwatch.Elapsed.TotalSeconds:F0} s ({setUp.TotalSeconds:F0} s of it signing up users)";
            output.WriteLine(figures);
            await TestResults.AppendAsync(figures);
            foreach (var line in verdict.Leaks.Take(20).Concat(verdict.Misses.Take(20)).Concat(verdict.DuplicateExamples.Take(10)).Concat(errors.Take(10)))
            {
                output.WriteLine(line);
            }

            return (verdict, liveReconnects, errors, disagreed);
        }
        finally
        {
            foreach (var viewer in world.Viewers.Append(world.Reference))
            {
                await viewer.StopAsync();
            }

            await world.DeleteCollectionsAsync();
        }
    }

    /// <summary>1–3 tabs per user, one per guest, a few opening at a time.</summary>
    private static async Task OpenTabsAsync(IsolationSoakWorld world, RelayServer relay)
    {
        using var gate = new SemaphoreSlim(8);
        var tabs = world.Viewers.SelectMany(viewer => Enumerable.Range(0, viewer.IsGuest ? 1 : 1 + world.Random.Next(3)).Select(_ => (Viewer: viewer, Topics: world.PickTabTopics(viewer)))).ToList();
        await Task.WhenAll(tabs.Select(async tab =>
        {
            await gate.WaitAsync().DefaultTimeout();
            try
            {
                await IsolationSoakTab.OpenAsync(tab.Viewer, relay.Url, tab.Topics, () => world.Started);
            }
            finally
            {
                gate.Release();
            }
        })).WaitAsync(TimeSpan.FromSeconds(120));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static long Delivered(IsolationSoakWorld world) => world.Viewers.Sum(static v => v.Tabs.Sum(static t => (long)t.Received.Count));

    private Dictionary<string, string?> Settings(bool sharing) => new()
    {
        // Deleted and revoked users' tabs retry with dead tokens; that is the scenario, not an attack from this address.
        ["Relay:Auth:MaxFailedVerificationsPerIp"] = "100000",
        ["Relay:SharedStreams:Enabled"] = sharing ? "true" : "false",
        ["Relay:PocketBase:SuperuserEmail"] = sharing ? PocketBaseAdmin.Email : null,
        ["Relay:PocketBase:SuperuserPassword"] = sharing ? pocketBase.Server.SuperuserPassword : null,
    };

    private static async Task WaitForRulesAsync(RelayServer relay, IsolationSoakWorld world)
    {
        var rules = relay.Services.GetRequiredService<CollectionRules>();
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!world.Collections.All(name => rules.Current.TryGet(name, out _)))
        {
            Assert.True(DateTime.UtcNow < deadline, "Relay did not read the soak's collection rules");
            await Task.Delay(50);
        }

        Assert.True(rules.ClassifyTopic(world.PublicCollection, wildcard: true, options: null).IsShared, "the public collection should classify as shared");
    }

    /// <summary>A last public record: once every live viewer's stream and tab has it, everything before it has arrived.</summary>
    private static async Task DrainAsync(IsolationSoakWorld world)
    {
        var key = await world.WriteMarkerAsync();
        var topic = world.PublicCollection + "/*";
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        var live = world.Viewers.Where(static v => v.TokenDead is null).ToList();
        while (DateTime.UtcNow < deadline
            && !(live.All(v => v.Direct.ContainsKey((topic, key)))
                && live.SelectMany(static v => v.OpenTabs).Where(t => t.Held.ContainsKey(topic)).All(t => t.Received.Any(r => r.Key == key))))
        {
            await Task.Delay(50);
        }

        // Other collections' last events were written before the marker, on other streams of the same PocketBase.
        await Task.Delay(TestTimeouts.Quiet);
    }
}
