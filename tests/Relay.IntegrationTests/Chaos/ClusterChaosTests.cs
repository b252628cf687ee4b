using System.Diagnostics;
using System.Globalization;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// Issue #20 item 7, chaos measured: three Relay instances as OS processes in cluster mode (real <c>redis-server</c>,
/// real PocketBase) behind a round-robin load balancer; 40 users with three tabs each and 80 guests (200 clients), a
/// few of them dropped every second and recovering with <c>since</c> on whichever instance they land; the admin
/// changing notes (owner-only rule) and announcements steadily. In turn: <c>kill -9</c> of the instance owning the most
/// session streams, SIGTERM of an instance and of its successor in the middle of the handover, Redis restarted empty, a
/// 3 s cut between one instance and Redis, and sessions recreated on an instance while their previous incarnation hands
/// over. Every client's log is then checked (<see cref="ChaosCheck"/>): each event exactly once or inside an announced
/// Resync window, no note to anyone but its owner, every client live again after every fault.
/// </summary>
// Slow (about two minutes): runs in the parallel pass of scripts/test.sh, on its own PocketBase.
[Trait("Category", "Slow")]
[Collection(PocketBaseCollection.Name)]
public sealed class ClusterChaosTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Users = 40;
    private const int TabsPerUser = 3;
    private const int Guests = 80;
    private const int RecreatedUsers = 10;
    private static readonly string[] Topics = ["notes/*", "announcements/*"];

    private readonly List<ChaosClient> _clients = [];
    private readonly List<ChaosPhase> _phases = [];
    private ChaosWriter _writer = null!;

    [Fact]
    public async Task ThreeInstances_KillTerminateRedisRestartCutRecreate_EveryEventOnceOrResyncedNoLeak()
    {
        var wall = Stopwatch.StartNew();
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = new ChaosCluster(pocketBase.Server.Url, redis);
        var passed = false;
        try
        {
            await RunAsync(cluster, wall);
            passed = true;
        }
        finally
        {
            await Task.WhenAll(_clients.Select(static client => client.DisposeAsync().AsTask()));
            if (!passed)
            {
                cluster.WriteLogs(output);
            }

            if (Environment.GetEnvironmentVariable("RELAY_RESULTS_DIR") is { Length: > 0 } results)
            {
                Directory.CreateDirectory(results);
                cluster.WriteLogs(Path.Combine(results, $"chaos-instances-{pocketBase.Version}.log"));
            }
        }
    }

    private async Task RunAsync(ChaosCluster cluster, Stopwatch wall)
    {
        // The instances start (JIT, Redis, PocketBase checks) while PocketBase creates the users.
        var starting = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => cluster.StartInstanceAsync()));
        var users = new List<PocketBaseUser>();
        foreach (var chunk in Enumerable.Range(0, Users + RecreatedUsers).Chunk(25))
        {
            users.AddRange(await Task.WhenAll(chunk.Select(i => pocketBase.CreateUserAsync($"chaos{i}"))));
        }

        await starting;
        output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: 3 instances ready, {users.Count} users");

        var tabs = users.Take(Users).SelectMany(user => Enumerable.Range(0, TabsPerUser).Select(tab => new ChaosClient($"{user.Id}-tab{tab}", cluster.Forwarder.Url, user, Topics)));
        var guests = Enumerable.Range(0, Guests).Select(guest => new ChaosClient($"guest{guest}", cluster.Forwarder.Url, null, Topics));
        foreach (var chunk in tabs.Concat(guests).Chunk(50))
        {
            lock (_clients)
            {
                _clients.AddRange(chunk);
            }

            await Task.WhenAll(chunk.Select(static client => client.StartAsync()));
        }

        output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: {_clients.Count} clients connected ({await cluster.OwnedSummaryAsync()})");
        _writer = new ChaosWriter(pocketBase.Admin, [.. users.Select(static user => user.Id)], TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250));
        using var stopping = new CancellationTokenSource();
        var writing = _writer.RunAsync(stopping.Token);
        var cutting = CutClientsAsync(cluster.Forwarder, stopping.Token);
        Begin("steady");
        await Task.Delay(TimeSpan.FromSeconds(5));

        await KillOwnerAsync(cluster);
        await TerminateDuringHandoverAsync(cluster);
        await RestartRedisAsync(cluster);
        await CutFromRedisAsync(cluster);
        await RecreateDuringShutdownAsync(cluster, users.Skip(Users).ToList());

        await stopping.CancelAsync();
        await Task.WhenAll(writing, cutting).WaitAsync(TimeSpan.FromSeconds(30));
        var check = await CaughtUpAsync();
        await ReportAsync(cluster, check, wall);
    }

    private async Task KillOwnerAsync(ChaosCluster cluster)
    {
        var (victim, owned) = await cluster.MostOwningAsync();
        var phase = Begin("kill -9 of an owner");
        cluster.Kill(victim);
        phase.Note = $"{victim.Name} killed, it ran {owned} session streams";
        await cluster.StartInstanceAsync();
        await SettleAsync(phase, cluster);
    }

    private async Task TerminateDuringHandoverAsync(ChaosCluster cluster)
    {
        // A rolling deploy: the replacement first, then SIGTERM to the instance owning the most streams.
        await cluster.StartInstanceAsync();
        var (first, owned) = await cluster.MostOwningAsync();
        var since = DateTime.UtcNow;
        var successors = cluster.Live.Where(instance => instance != first)
            .Select(instance => instance.WhenLogged(line => line.EventId == 9003 && line.Time >= since).ContinueWith(_ => instance, TaskScheduler.Default))
            .ToList();
        var phase = Begin("SIGTERM during a handover");
        cluster.Terminate(first);
        // The first instance to open a successor stream (event 9003) for one of its sessions gets SIGTERM in turn.
        var successor = Task.WhenAny(successors);
        Assert.True(await Task.WhenAny(successor, Task.Delay(TimeSpan.FromSeconds(20))) == successor, $"No instance began to succeed {first.Name} within 20 s of its SIGTERM.");
        var second = await await successor;
        var interruptedAfter = DateTime.UtcNow - since;
        cluster.Terminate(second);
        await cluster.StartInstanceAsync();
        var exited = await first.WaitForExitAsync(TimeSpan.FromSeconds(40)) & await second.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(exited, "An instance stopped with SIGTERM did not exit within 40 s.");
        int Count(RelayProcess instance, int eventId) => instance.Logs.Count(line => line.EventId == eventId && line.Time >= since);
        phase.Note = $"{first.Name} (ran {owned} streams) got SIGTERM, {second.Name} got it {interruptedAfter.TotalMilliseconds:0} ms later while succeeding it; "
            + $"handed over {Count(first, 9006)}+{Count(second, 9006)}, let go {Count(first, 9007)}+{Count(second, 9007)}, successions abandoned {cluster.All.Sum(i => Count(i, 9004) + Count(i, 9005))}";
        await SettleAsync(phase, cluster);
    }

    private async Task RestartRedisAsync(ChaosCluster cluster)
    {
        var phase = Begin("Redis restarted");
        var down = Stopwatch.StartNew();
        await cluster.Redis.RestartAsync();
        phase.Note = $"redis-server killed and started again empty (no persistence, as deploy/README.md expects) in {down.ElapsedMilliseconds} ms";
        // Back to one stream per session: every instance on Redis again.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && (await Task.WhenAll(cluster.Live.Select(static i => i.GaugeAsync("relay_cluster_redis_connected")))).Any(static v => v != 1))
        {
            await Task.Delay(200);
        }

        await SettleAsync(phase, cluster, TimeSpan.FromSeconds(5));
    }

    private async Task CutFromRedisAsync(ChaosCluster cluster)
    {
        var (victim, owned) = await cluster.MostOwningAsync();
        var phase = Begin("3 s cut between an instance and Redis");
        phase.Note = $"{victim.Name} (ran {owned} streams) cut off from Redis (nothing crosses, nothing closed) for 3 s";
        await cluster.LinkOf(victim).CutAsync(TimeSpan.FromSeconds(3));
        await SettleAsync(phase, cluster, TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Each user has a tab on instance x (which takes the session's stream) and one on y; the x tab closes, and once x's
    /// session, its linger over, hands the stream over to y (the handover key appears in Redis), the user opens a tab on
    /// x again: a new incarnation of the session on x while the previous one is still leaving (issue #20 item 1).
    /// </summary>
    private async Task RecreateDuringShutdownAsync(ChaosCluster cluster, List<PocketBaseUser> users)
    {
        var (x, y) = (cluster.Live[0], cluster.Live[1]);
        using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.Configuration).WaitAsync(TestTimeouts.Default);
        var database = redis.GetDatabase();
        _writer.Focus([.. users.Select(static user => user.Id)]);
        var first = new List<ChaosClient>();
        foreach (var user in users)
        {
            var owning = x.WhenLogged(line => line.EventId == 9001 && line.Stream == $"{user.CollectionId}/{user.Id}");
            first.Add(await StartAsync($"{user.Id}-x", x.Url, user));
            await owning.WaitAsync(TestTimeouts.Default);
            await StartAsync($"{user.Id}-y", y.Url, user);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var phase = Begin("session recreated during its shutdown");
        var during = await Task.WhenAll(users.Select(async (user, index) =>
        {
            await first[index].DisposeAsync();
            var handover = (RedisKey)$"relay:cluster:{{{user.CollectionId}/{user.Id}}}:handover";
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!await database.KeyExistsAsync(handover) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(2);
            }

            var handingOver = await database.KeyExistsAsync(handover);
            await StartAsync($"{user.Id}-x-again", x.Url, user);
            return handingOver;
        }));
        phase.Note = $"{during.Count(static d => d)} of {users.Count} sessions opened again on {x.Name} while their previous incarnation there handed over to {y.Name}";
        Assert.True(during.Any(static d => d), "No session was recreated during a handover: the phase tested nothing.");
        await SettleAsync(phase, cluster, TimeSpan.FromSeconds(5));
        _writer.Focus(null);
    }

    private async Task<ChaosClient> StartAsync(string name, Uri url, PocketBaseUser user)
    {
        var client = new ChaosClient(name, url, user, Topics);
        lock (_clients)
        {
            _clients.Add(client);
        }

        await client.StartAsync();
        return client;
    }

    private ChaosPhase Begin(string name)
    {
        var phase = new ChaosPhase(name, ChaosClock.Now);
        _phases.Add(phase);
        output.WriteLine($"{phase.Fault.TotalSeconds:0.000}: {name}");
        return phase;
    }

    /// <summary>Waits until every client alive at the fault has events flowing again (at most 45 s), then a little more.</summary>
    private async Task SettleAsync(ChaosPhase phase, ChaosCluster cluster, TimeSpan? more = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < deadline && ChaosRecovery.NeverLive(phase, Clients(), Written()) > 0)
        {
            await Task.Delay(250);
        }

        await Task.Delay(more ?? TimeSpan.FromSeconds(3));
        output.WriteLine($"{ChaosClock.Now.TotalSeconds:0.000}: {phase.Name} settled; {phase.Note}; owned streams: {await cluster.OwnedSummaryAsync()}");
    }

    /// <summary>After the writes stop: every client gets what it is due (at most 30 s), then the check.</summary>
    private async Task<ChaosCheck> CaughtUpAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ChaosCheck check;
        while ((check = new ChaosCheck(Clients(), _writer.Writes(), _phases)).Lost > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1000);
        }

        await Task.Delay(TestTimeouts.Quiet);
        return new ChaosCheck(Clients(), _writer.Writes(), _phases);
    }

    /// <summary>Recovering reconnects: a few client connections dropped every 1.5 s, as networks and load balancers do.</summary>
    private static async Task CutClientsAsync(RoundRobinForwarder forwarder, CancellationToken stopping)
    {
        var random = new Random(7);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1500), stopping);
                forwarder.CutRandom(3, random);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReportAsync(ChaosCluster cluster, ChaosCheck check, Stopwatch wall)
    {
        var clients = Clients();
        var written = Written();
        var ends = _phases.Skip(1).Select(static p => p.Fault).Append(ChaosClock.Now).ToList();
        var phases = _phases.Select((phase, i) => ChaosRecovery.Summarize(phase, ends[i], clients, written)).ToList();
        var reconnects = clients.Sum(static c => c.Reconnects);
        var unrecovered = clients.Sum(static c => c.Resyncs().Count(static r => r.Reason == "reconnected"));
        var line = string.Create(CultureInfo.InvariantCulture, $"Cluster chaos (PocketBase {pocketBase.Version}; {cluster.All.Count} Relay processes over the run, 3 live; redis-server): ")
            + $"{check.Clients} clients, {check.Events} events written ({check.Notes} note changes, {check.Events - check.Notes} announcements), {check.Deliveries} deliveries ({check.Due} due); "
            + $"{reconnects} reconnects ({cluster.Forwarder.Cut} connections cut by the load balancer), {unrecovered} not recovered; "
            + $"{check.Duplicates} duplicates and {check.Lost} lost outside a Resync window ({check.DuplicatesInWindow} and {check.LostInWindow} inside), {check.Leaks} leaks; "
            + string.Join("; ", phases) + $"; wall {wall.Elapsed.TotalSeconds:0} s";
        foreach (var phase in _phases.Where(static p => p.Note.Length > 0))
        {
            output.WriteLine($"{phase.Name}: {phase.Note}");
        }

        foreach (var problem in check.Problems)
        {
            output.WriteLine(problem);
        }

        output.WriteLine(line);
        await TestResults.AppendAsync(line);

        Assert.True(check.Clients >= 200, $"Only {check.Clients} clients.");
        Assert.Equal(0, check.Leaks);
        Assert.Equal(0, check.Unknown);
        Assert.True(check.Lost == 0, $"{check.Lost} events lost outside any Resync window (see the output).");
        Assert.True(check.Duplicates == 0, $"{check.Duplicates} events delivered twice outside any Resync window (see the output).");
        foreach (var phase in _phases.Skip(1))
        {
            Assert.True(ChaosRecovery.NeverLive(phase, clients, written) == 0, $"After \"{phase.Name}\" some clients never got a live event again.");
        }
    }

    private List<ChaosClient> Clients()
    {
        lock (_clients)
        {
            return [.. _clients];
        }
    }

    private Dictionary<string, ChaosWrite> Written() => _writer.Writes().Where(static w => w.Confirmed).ToDictionary(static w => w.Key);
}
