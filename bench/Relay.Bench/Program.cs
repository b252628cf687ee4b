using System.Globalization;
using Relay.Bench;
using Relay.Testing.PocketBase;

// Relay against PocketBase direct, side by side; see docs/benchmarks.md.
//   Relay.Bench [--quick] [--all-steps] [--no-warmup] [--out FILE] [--relay-dll PATH] [--relay-env KEY=VALUE ...] [--users N]
//               [--user-counts N,N] [--broadcast N,N] [--rates N,N] [--throughput-guests N] [--clients lean|signalr] [--sharing off,on] [scenario ...]
//   Relay.Bench --clients-only --path PATH --url URL [--clients lean|signalr] (--connections FILE | --guests N [--topic T])
//   Relay.Bench --decode-cost          a .NET client's decode cost per delivery, JSON vs MessagePack
// Scenarios: tabs broadcast throughput users idle cluster-hop cluster-streams recovery (default: all; --quick: the first five).
if (args.Contains("--clients-only"))
{
    return await ClientsProcess.RunAsync(args);
}

if (args.Contains("--bare-broadcaster"))
{
    return await BareBroadcaster.RunAsync(args);
}

if (args.Contains("--decode-cost"))
{
    return DecodeCost.Run();
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

int[]? Numbers(string name) => Option(name)?.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray();

var quick = args.Contains("--quick");
// Every throughput step runs even after one missed p99 <= 100 ms (to compare a given step across builds).
var allSteps = args.Contains("--all-steps");
// Relay is started fresh, and for its first seconds under load it is still compiling its hot path (tiered compilation
// and its PGO instrumentation: measured 29% of Relay's CPU in the first throughput run). Unless --no-warmup, one
// unreported run per protocol goes first, so the rows measure the steady state a long-running Relay is in.
var warmUp = !args.Contains("--no-warmup");
string[] valued = ["--out", "--relay-dll", "--relay-env", "--users", "--user-counts", "--broadcast", "--rates", "--throughput-guests", "--clients", "--sharing"];
var outFile = Option("--out");
var known = new[] { "tabs", "broadcast", "throughput", "users", "idle", "cluster-hop", "cluster-streams", "recovery" };
var unknown = args.Where((a, i) => !known.Contains(a) && a is not ("--quick" or "--all-steps" or "--no-warmup") && !valued.Contains(a) && (i == 0 || !valued.Contains(args[i - 1]))).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"Unknown argument(s): {string.Join(' ', unknown)}. Usage: Relay.Bench [--quick] [--all-steps] [--no-warmup] [--out FILE] [--relay-dll PATH] [--relay-env KEY=VALUE] [--users N] [--user-counts N,N] [--broadcast N,N] [--rates N,N] [--throughput-guests N] [--clients lean|signalr] [--sharing off,on] [{string.Join('|', known)} ...]");
    return 2;
}

// The users scenario through Relay with shared streams off (a stream per user, the default), on (issue #22: one class
// stream, a second Relay process with Relay:SharedStreams:Enabled and the superuser that reads the rules), or both.
var sharing = (Option("--sharing") ?? "off").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
if (sharing.Length == 0 || sharing.Any(mode => mode is not ("off" or "on")))
{
    Console.Error.WriteLine($"--sharing takes off, on or off,on, not '{Option("--sharing")}'.");
    return 2;
}

// The Relay paths' clients: lean WebSocket clients doing the same kind of work per delivery as the direct path's SSE
// clients (default), or the SignalR .NET client.
if (!BenchClients.TrySetKind(Option("--clients")))
{
    Console.Error.WriteLine($"--clients must be {BenchClients.Lean} or {BenchClients.SignalR}, not '{Option("--clients")}'.");
    return 2;
}

var selected = args.Where(known.Contains).ToList();
if (selected.Count == 0)
{
    // --quick (CI) keeps to the single-instance scenarios: the cluster ones start Redis and five more Relay processes
    // (about 1.2 min at quick size on the loaded 2-core box); name them to run them quick.
    selected = quick ? [.. known.Where(s => !s.StartsWith("cluster-", StringComparison.Ordinal) && s != "recovery")] : [.. known];
}

var started = DateTime.UtcNow;
var relayDll = Option("--relay-dll");
// Settings for the Relay under test only (the harness and its clients keep theirs), e.g. a runtime knob for an A/B run.
var relayEnvironment = args.Select((a, i) => (a, i)).Where(x => x.a == "--relay-env" && x.i + 1 < args.Length)
    .Select(x => args[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : string.Empty);
var title = string.Create(
    CultureInfo.InvariantCulture,
    $"Relay.Bench {(quick ? "--quick" : "(full)")} {string.Join(' ', selected)}, {started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, PocketBase {PocketBaseVersion.Configured} ({PocketBaseVersion.Setting}), {BenchClients.Kind} clients, Relay {relayDll ?? "this checkout"}{string.Concat(relayEnvironment.Select(kv => $" {kv.Key}={kv.Value}"))}, load average at start {LoadAverage()}");
Console.Error.WriteLine(title);
var results = new List<ScenarioResult>();

// Every row is printed, and appended to --out, as soon as its run ends: a run cut short keeps what it measured.
void Emit(string line)
{
    Console.WriteLine(line);
    if (outFile is not null)
    {
        File.AppendAllText(outFile, line + Environment.NewLine);
    }
}

Emit(string.Empty);
Emit(title);
Emit(string.Empty);
Emit(ScenarioResult.Header);
var summaries = new List<string>();

await using var environment = await BenchEnvironment.StartAsync(relayDll, relayEnvironment);
var runner = new ScenarioRunner(environment);

async Task<ScenarioResult> RunAsync(string scenario, string path, int connections, string note, Func<Task<ScenarioResult>> run)
{
    ScenarioResult result;
    try
    {
        result = await run();
        result = result with { Note = $"{result.Note}; load {LoadAverage()}" };
    }
    catch (Exception ex)
    {
        // One path failing (PocketBase refusing 10,000 streams, writes timing out) is a result, not the end of the run.
        Console.Error.WriteLine($"  {scenario}/{path} failed: {ex}");
        result = ScenarioResult.Failure(scenario, path, connections, note, ex);
        await Task.Delay(3000);
    }

    results.Add(result);
    Emit(result.Row);
    return result;
}

var userCount = int.Parse(Option("--users") ?? (quick ? "20" : "300"), CultureInfo.InvariantCulture);
var users = new List<PocketBaseUser>();
if (selected.Contains("tabs") || selected.Contains("idle") || selected.Contains("cluster-streams"))
{
    Console.Error.WriteLine($"creating {userCount} users (PocketBase hashes each password with bcrypt: ~0.5 s of CPU per user)...");
    using var gate = new SemaphoreSlim(4);
    users.AddRange(await Task.WhenAll(Enumerable.Range(0, userCount).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            return await environment.PocketBase.Admin.CreateUserAsync($"bench{i}@relay.test", "bench-password-1");
        }
        finally
        {
            gate.Release();
        }
    })));
}

string[] allPaths = [ScenarioRunner.RelayJson, ScenarioRunner.RelayMessagePack, ScenarioRunner.Direct];

// Idle first, while Relay's heap has not grown for other scenarios: its RSS delta is then the connections' cost.
if (selected.Contains("idle"))
{
    Console.Error.WriteLine("idle");
    var idle = quick ? 500 : 10_000;
    var window = TimeSpan.FromSeconds(quick ? 5 : 30);
    try
    {
        var before = ProcessStats.RssBytes(environment.RelayPid);
        await using (var clients = await ClientsProcess.StartAsync(ScenarioRunner.RelayJson, environment.RelayUrl, Enumerable.Repeat(((string?)null, "bench_public/*"), idle).ToList()))
        {
            await Task.Delay(2000);
            var after = ProcessStats.RssBytes(environment.RelayPid);
            var relayCpu = ProcessStats.CpuSeconds(environment.RelayPid);
            var clientsCpu = ProcessStats.CpuSeconds(clients.Pid);
            await Task.Delay(window);
            relayCpu = ProcessStats.CpuSeconds(environment.RelayPid) - relayCpu;
            clientsCpu = ProcessStats.CpuSeconds(clients.Pid) - clientsCpu;
            summaries.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"- idle: {idle} guest connections (WebSockets, each subscribed): Relay RSS +{(after - before) / 1048576.0:0.0} MB, {(after - before) / 1024.0 / idle:0.0} KB per connection; Relay CPU {relayCpu * 1000 / window.TotalSeconds:0} ms per second idle ({relayCpu:0.00} s in {window.TotalSeconds:0} s; clients {clientsCpu:0.00} s); load {LoadAverage()}"));
            Emit(summaries[^1]);
        }

        await Task.Delay(2000);
        if (users.Count > 0)
        {
            var pbBefore = ProcessStats.RssBytes(environment.PocketBasePid);
            before = ProcessStats.RssBytes(environment.RelayPid);
            await using var clients = await ClientsProcess.StartAsync(ScenarioRunner.RelayJson, environment.RelayUrl, users.Select(u => ((string?)u.Token, "bench_notes/*")).ToList());
            await Task.Delay(2000);
            var after = ProcessStats.RssBytes(environment.RelayPid);
            var pbAfter = ProcessStats.RssBytes(environment.PocketBasePid);
            summaries.Add(string.Create(CultureInfo.InvariantCulture, $"- idle: {users.Count} user sessions (one connection each, one PocketBase stream each; {environment.UpstreamStreams()} streams open): Relay RSS +{(after - before) / 1048576.0:0.0} MB, {(after - before) / 1024.0 / users.Count:0.0} KB per session; PocketBase RSS +{(pbAfter - pbBefore) / 1024.0 / users.Count:0.0} KB per stream"));
            Emit(summaries[^1]);
        }
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"  idle failed: {ex}");
        summaries.Add($"- idle: FAILED: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
        Emit(summaries[^1]);
    }
}

if (warmUp && selected.Any(s => s is "tabs" or "broadcast" or "throughput"))
{
    var guests = Enumerable.Repeat(((string?)null, "bench_public/*"), quick ? 50 : 300).ToList();
    foreach (var path in new[] { ScenarioRunner.RelayJson, ScenarioRunner.RelayMessagePack })
    {
        Console.Error.WriteLine($"warm-up ({path}, not reported)");
        try
        {
            await runner.RunAsync("warm-up", path, guests, 100, TimeSpan.FromSeconds(quick ? 1 : 4), _ => ("bench_public", new { }, null), guests.Count);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"  warm-up ({path}) failed: {ex.Message}");
        }
    }
}

if (selected.Contains("tabs"))
{
    Console.Error.WriteLine("tabs");
    var connections = users.SelectMany(u => Enumerable.Repeat(((string?)u.Token, "bench_notes/*"), 3)).ToList();
    var rate = quick ? 50 : 100;
    var duration = TimeSpan.FromSeconds(quick ? 3 : 15);
    (string, object, string?) Next(int i) => ("bench_notes", new { owner = users[i % users.Count].Id }, users[i % users.Count].Token);
    foreach (var path in allPaths)
    {
        var note = $"{users.Count} users x 3 tabs, {rate} writes/s";
        await RunAsync("tabs", path, connections.Count, note, () => runner.RunAsync("tabs", path, connections, rate, duration, Next, recipientsPerWrite: 3, note));
    }
}

if (selected.Contains("broadcast"))
{
    Console.Error.WriteLine("broadcast");
    foreach (var guests in Numbers("--broadcast") ?? (quick ? [200] : [1_000, 10_000]))
    {
        var connections = Enumerable.Repeat(((string?)null, "bench_public/*"), guests).ToList();
        var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
        (string, object, string?) Next(int i) => ("bench_public", new { }, null);
        foreach (var path in allPaths)
        {
            var note = $"{guests} guests, 20 writes/s";
            await RunAsync("broadcast", path, guests, note, () => runner.RunAsync("broadcast", path, connections, 20, duration, Next, recipientsPerWrite: guests, note));
        }
    }
}

if (selected.Contains("throughput"))
{
    Console.Error.WriteLine("throughput");
    // --throughput-guests: the same ladder at another fan-out, e.g. 1,000 x 10 writes/s, the users scenario's shape.
    var guests = Numbers("--throughput-guests") is [> 0 and var asked, ..] ? asked : quick ? 100 : 300;
    var connections = Enumerable.Repeat(((string?)null, "bench_public/*"), guests).ToList();
    (string, object, string?) Next(int i) => ("bench_public", new { }, null);
    // The limit reference (issue #22): the same frames from a server that does nothing else (BareBroadcaster).
    string[] throughputPaths = [.. allPaths, ScenarioRunner.Bare];
    try
    {
        await environment.StartBareAsync();
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"  the bare broadcaster did not start: {ex}");
        throughputPaths = allPaths;
    }

    var perDelivery = new Dictionary<(string Path, double Rate), double>();
    foreach (var path in throughputPaths)
    {
        double best = 0;
        foreach (var rate in Numbers("--rates") ?? (quick ? [100] : [100, 150, 200, 300, 400, 600, 800, 1200]))
        {
            var note = $"{guests} guests, {rate} writes/s";
            var result = await RunAsync("throughput", path, guests, note, () => runner.RunAsync("throughput", path, connections, rate, TimeSpan.FromSeconds(quick ? 2 : 5), Next, recipientsPerWrite: guests, note));
            if (!result.Failed && result.Delivered > 0)
            {
                perDelivery[(path, rate)] = result.RelayCpuSeconds * 1e6 / result.Delivered;
            }
            if (result.Failed || result.P99 > 100 || result.Delivered < result.Expected * 0.99)
            {
                if (allSteps)
                {
                    continue;
                }

                break;
            }

            best = Math.Max(best, result.Delivered / result.Seconds);
        }

        summaries.Add(string.Create(CultureInfo.InvariantCulture, $"- throughput, {path}: {best:0} deliveries/s sustained with p99 <= 100 ms and nothing lost"));
    }

    // Relay's CPU per delivery as a multiple of the bare send's, step by step where both ran.
    foreach (var ((path, rate), cost) in perDelivery.Where(p => p.Key.Path is ScenarioRunner.RelayJson or ScenarioRunner.RelayMessagePack).OrderBy(p => p.Key.Rate).ThenBy(p => p.Key.Path))
    {
        if (perDelivery.TryGetValue((ScenarioRunner.Bare, rate), out var bare) && bare > 0)
        {
            summaries.Add(string.Create(CultureInfo.InvariantCulture, $"- throughput, {path} at {rate * guests} deliveries/s: Relay {cost:0.0} µs of CPU per delivery = {cost / bare:0.00} x the bare broadcaster's {bare:0.0} µs"));
        }
    }
}

// Distinct users, one tab each, on a collection every signed-in user may read (issue #22): one PocketBase stream and
// one rule check per user and write, through Relay as direct. Users are seeded straight into PocketBase's SQLite
// (FastUsers): thousands of bcrypt sign-ups would take longer than the scenario. The targets' rates: 10 writes/s up to
// 1,000 users, 5 at 5,000.
RelayInstance? sharedRelay = null;
async Task<RelayInstance> SharedRelayAsync() => sharedRelay ??= await RelayInstance.StartAsync(
    environment.PocketBase.Url,
    relayDll,
    new Dictionary<string, string>(relayEnvironment)
    {
        ["Relay__SharedStreams__Enabled"] = "true",
        ["Relay__PocketBase__SuperuserEmail"] = environment.PocketBase.SuperuserEmail,
        ["Relay__PocketBase__SuperuserPassword"] = environment.PocketBase.SuperuserPassword,
    },
    "relay-shared");

if (selected.Contains("users"))
{
    Console.Error.WriteLine("users");
    if (warmUp)
    {
        // As for the other scenarios: each Relay's first seconds under load are the JIT's (tier-0 code, then its rejit at
        // tier 1; perf put a fifth of a cold sharing Relay's CPU in libclrjit during the first measured row), which would
        // be billed to the first row's deliveries. Its own users, so the measured rows' users are untouched.
        var warmCount = quick ? 20 : 1_000;
        try
        {
            Console.Error.WriteLine($"  warm-up (users, {warmCount}, not reported): seeding...");
            var warmUsers = await FastUsers.CreateAsync(environment.PocketBase, "warm", warmCount);
            var warmConnections = warmUsers.Select(u => ((string?)u.Token, "bench_signed_in/*")).ToList();
            var warmDuration = TimeSpan.FromSeconds(quick ? 1 : 10);
            (string, object, string?) WarmNext(int i) => ("bench_signed_in", new { }, null);
            if (sharing.Contains("off"))
            {
                await runner.RunAsync("warm-up", ScenarioRunner.RelayJson, warmConnections, 10, warmDuration, WarmNext, warmCount);
            }

            if (sharing.Contains("on"))
            {
                var shared = await SharedRelayAsync();
                await runner.RunOnAsync("warm-up", "relay-shared", [shared], [(shared, warmConnections, true)], 10, warmDuration, WarmNext, warmCount);
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"  warm-up (users) failed: {ex.Message}");
        }
    }

    foreach (var count in Numbers("--user-counts") ?? (quick ? [50] : [300, 1_000, 5_000]))
    {
        var rate = count >= 5_000 ? 5 : 10;
        var duration = TimeSpan.FromSeconds(quick ? 2 : 10);
        var note = $"{count} distinct users x 1 tab, rule @request.auth.id != \"\", {rate} writes/s";
        IReadOnlyList<PocketBaseUser> seeded;
        try
        {
            Console.Error.WriteLine($"  users: seeding {count}...");
            seeded = await FastUsers.CreateAsync(environment.PocketBase, $"u{count}", count);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"  users ({count}) seeding failed: {ex}");
            summaries.Add($"- users, {count}: FAILED to seed: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
            Emit(summaries[^1]);
            continue;
        }

        var connections = seeded.Select(u => ((string?)u.Token, "bench_signed_in/*")).ToList();
        (string, object, string?) Next(int i) => ("bench_signed_in", new { }, null);
        if (sharing.Contains("off"))
        {
            await RunAsync("users", ScenarioRunner.RelayJson, count, note, () => runner.RunAsync("users", ScenarioRunner.RelayJson, connections, rate, duration, Next, recipientsPerWrite: count, note + ", sharing off"));
        }

        if (sharing.Contains("on"))
        {
            var shared = await SharedRelayAsync();
            await RunAsync("users", "relay-shared", count, note, () => runner.RunOnAsync("users", "relay-shared", [shared], [(shared, connections, true)], rate, duration, Next, count, note + ", sharing on"));
        }

        await RunAsync("users", ScenarioRunner.Direct, count, note, () => runner.RunAsync("users", ScenarioRunner.Direct, connections, rate, duration, Next, recipientsPerWrite: count, note));
    }
}

if (sharedRelay is not null)
{
    await sharedRelay.DisposeAsync();
}

// Cluster scenarios (issue #12): Relay instances of the same build on one Redis (cluster mode), beside instances
// running alone; all on the one PocketBase.
await using var cluster = selected.Any(s => s.StartsWith("cluster-", StringComparison.Ordinal) || s == "recovery")
    ? await ClusterBench.StartAsync(environment)
    : null;

if (selected.Contains("cluster-hop") && cluster is not null)
{
    Console.Error.WriteLine("cluster-hop");
    var guests = quick ? 100 : 1_000;
    var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
    (string, object, string?) Next(int i) => ("bench_public", new { }, null);
    var measuredGuests = Enumerable.Repeat(((string?)null, "bench_public/*"), guests).ToList();
    var holder = Enumerable.Repeat(((string?)null, "bench_public/*"), 1).ToList();
    var note = $"{guests} guests, 20 writes/s";

    // Alone: the bench's own Relay (no Redis). The 1 holder connection is there only to keep both runs the same shape.
    await RunAsync("cluster-hop", "alone", guests + 1, note, () => runner.RunOnAsync(
        "cluster-hop", "alone", [environment.Relay], [(environment.Relay, holder, false), (environment.Relay, measuredGuests, true)], 20, duration, Next, guests + 1, note + ", 1 instance, no Redis"));

    // Cluster: the holder connects first to instance 1, which so takes the guest session's lease and owns its stream;
    // the measured guests are all on instance 2, which reads the owner's Redis Stream (the Redis hop).
    await RunAsync("cluster-hop", "cluster", guests + 1, note, () => runner.RunOnAsync(
        "cluster-hop", "cluster", cluster.Members, [(cluster.Members[0], holder, false), (cluster.Members[1], measuredGuests, true)], 20, duration, Next, guests + 1, note + ", owner instance 1, clients on instance 2 (non-owner), Redis"));
}

if (selected.Contains("cluster-streams") && cluster is not null)
{
    Console.Error.WriteLine("cluster-streams");
    var rate = quick ? 20 : 100;
    var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
    (string, object, string?) Next(int i) => ("bench_notes", new { owner = users[i % users.Count].Id }, users[i % users.Count].Token);

    // Tab t of every user on instance t: each user has one tab on each of the three instances.
    List<(RelayInstance, IReadOnlyList<(string? Token, string Topic)>, bool)> Spread(IReadOnlyList<RelayInstance> instances)
        => [.. instances.Select(instance => (instance, (IReadOnlyList<(string? Token, string Topic)>)users.Select(u => ((string?)u.Token, "bench_notes/*")).ToList(), true))];

    var note = $"{users.Count} users x 3 tabs (one per instance), {rate} writes/s";
    await RunAsync("cluster-streams", "independent", users.Count * 3, note, () => runner.RunOnAsync(
        "cluster-streams", "independent", cluster.Alone, Spread(cluster.Alone), rate, duration, Next, 3, note + ", 3 instances without Redis"));
    await RunAsync("cluster-streams", "cluster", users.Count * 3, note, () => runner.RunOnAsync(
        "cluster-streams", "cluster", cluster.Members, Spread(cluster.Members), rate, duration, Next, 3, note + ", 3 instances on one Redis"));
}

if (selected.Contains("recovery") && cluster is not null)
{
    Console.Error.WriteLine("recovery");
    var rounds = quick ? 3 : 20;
    var missed = quick ? 5 : 50;
    foreach (var (label, first, again) in new[]
    {
        ("alone, same instance (in-memory history)", environment.RelayUrl, environment.RelayUrl),
        ("cluster, same instance", cluster.Members[0].Url, cluster.Members[0].Url),
        ("cluster, reconnect to another instance", cluster.Members[0].Url, cluster.Members[2].Url),
    })
    {
        try
        {
            summaries.Add(await RecoveryBench.RunAsync(environment.PocketBase.Admin, first, again, rounds, missed, label) + $"; load {LoadAverage()}");
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"  recovery ({label}) failed: {ex}");
            summaries.Add($"- recovery, {label}: FAILED: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
        }

        Emit(summaries[^1]);
    }
}

Emit(string.Empty);
foreach (var line in summaries.Where(s => s.StartsWith("- throughput", StringComparison.Ordinal)))
{
    Emit(line);
}

Emit(string.Create(CultureInfo.InvariantCulture, $"({(DateTime.UtcNow - started).TotalMinutes:0.0} min, load average at end {LoadAverage()})"));

var lost = results.Where(r => !r.Failed && r.Delivered < r.Expected && r.Scenario != "throughput").ToList();
var failed = results.Where(r => r.Failed).ToList();
return lost.Count == 0 && failed.Count == 0 ? 0 : 1;

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
