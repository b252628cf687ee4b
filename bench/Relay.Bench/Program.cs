using System.Globalization;
using Relay.Bench;
using Relay.Testing.PocketBase;

// Relay against PocketBase direct, side by side. Usage: Relay.Bench [--quick] [--out FILE] [scenario ...]
// Scenarios: tabs broadcast throughput idle (default: all).
var quick = args.Contains("--quick");
var outIndex = Array.IndexOf(args, "--out");
var outFile = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : null;
var known = new[] { "tabs", "broadcast", "throughput", "idle" };
var selected = args.Where(known.Contains).ToList();
if (selected.Count == 0)
{
    selected = [.. known];
}

var unknown = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && !known.Contains(a) && (outIndex < 0 || i != outIndex + 1)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"Unknown argument(s): {string.Join(' ', unknown)}. Usage: Relay.Bench [--quick] [--out FILE] [{string.Join('|', known)} ...]");
    return 2;
}

var started = DateTime.UtcNow;
Console.Error.WriteLine($"Relay.Bench ({(quick ? "quick" : "full")}): {string.Join(", ", selected)}; {Environment.ProcessorCount} cores");
await using var environment = await BenchEnvironment.StartAsync();
var runner = new ScenarioRunner(environment);
var results = new List<ScenarioResult>();
var extra = new List<string>();

var userCount = quick ? 20 : 300;
var users = new List<PocketBaseUser>();
if (selected.Contains("tabs") || selected.Contains("idle"))
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

if (selected.Contains("tabs"))
{
    Console.Error.WriteLine("tabs");
    var connections = users.SelectMany(u => Enumerable.Repeat(((string?)u.Token, "bench_notes/*"), 3)).ToList();
    var rate = quick ? 50 : 100;
    var duration = TimeSpan.FromSeconds(quick ? 3 : 15);
    (string, object, string?) Next(int i) => ("bench_notes", new { owner = users[i % users.Count].Id }, users[i % users.Count].Token);
    foreach (var path in new[] { ScenarioRunner.RelayJson, ScenarioRunner.RelayMessagePack, ScenarioRunner.Direct })
    {
        results.Add(await runner.RunAsync("tabs", path, connections, rate, duration, Next, recipientsPerWrite: 3, $"{users.Count} users x 3 tabs, {rate} writes/s"));
    }
}

if (selected.Contains("broadcast"))
{
    Console.Error.WriteLine("broadcast");
    foreach (var guests in quick ? [200] : new[] { 1_000, 10_000 })
    {
        var connections = Enumerable.Repeat(((string?)null, "bench_public/*"), guests).ToList();
        var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
        (string, object, string?) Next(int i) => ("bench_public", new { }, null);
        foreach (var path in new[] { ScenarioRunner.RelayJson, ScenarioRunner.RelayMessagePack, ScenarioRunner.Direct })
        {
            results.Add(await runner.RunAsync("broadcast", path, connections, 20, duration, Next, recipientsPerWrite: guests, $"{guests} guests, 20 writes/s"));
        }
    }
}

if (selected.Contains("throughput"))
{
    Console.Error.WriteLine("throughput");
    var guests = quick ? 100 : 300;
    var connections = Enumerable.Repeat(((string?)null, "bench_public/*"), guests).ToList();
    (string, object, string?) Next(int i) => ("bench_public", new { }, null);
    foreach (var path in new[] { ScenarioRunner.RelayMessagePack, ScenarioRunner.Direct })
    {
        double best = 0;
        foreach (var rate in quick ? [100] : new[] { 100, 200, 400, 800, 1600 })
        {
            var result = await runner.RunAsync("throughput", path, connections, rate, TimeSpan.FromSeconds(quick ? 2 : 5), Next, recipientsPerWrite: guests, $"{guests} guests, {rate} writes/s");
            results.Add(result);
            if (result.P99 > 100 || result.Delivered < result.Expected * 0.99)
            {
                break;
            }

            best = Math.Max(best, result.Delivered / result.Seconds);
        }

        extra.Add(string.Create(CultureInfo.InvariantCulture, $"- throughput, {path}: {best:0} deliveries/s sustained with p99 <= 100 ms and nothing lost"));
    }
}

if (selected.Contains("idle"))
{
    Console.Error.WriteLine("idle");
    var idle = quick ? 500 : 10_000;
    var before = ProcessStats.RssBytes(environment.RelayPid);
    var clients = await runner.ConnectAsync(ScenarioRunner.RelayJson, Enumerable.Repeat(((string?)null, "bench_public/*"), idle).ToList(), _ => { });
    await Task.Delay(2000);
    var after = ProcessStats.RssBytes(environment.RelayPid);
    extra.Add(string.Create(CultureInfo.InvariantCulture, $"- idle: {idle} guest connections (WebSockets, each subscribed): Relay RSS +{(after - before) / 1048576.0:0.0} MB, {(after - before) / 1024.0 / idle:0.0} KB per connection"));
    await ScenarioRunner.DisconnectAsync(clients);
    await Task.Delay(2000);

    var pbBefore = ProcessStats.RssBytes(environment.PocketBasePid);
    before = ProcessStats.RssBytes(environment.RelayPid);
    clients = await runner.ConnectAsync(ScenarioRunner.RelayJson, users.Select(u => ((string?)u.Token, "bench_notes/*")).ToList(), _ => { });
    await Task.Delay(2000);
    after = ProcessStats.RssBytes(environment.RelayPid);
    var pbAfter = ProcessStats.RssBytes(environment.PocketBasePid);
    extra.Add(string.Create(CultureInfo.InvariantCulture, $"- idle: {users.Count} user sessions (one connection each, one PocketBase stream each; {environment.UpstreamStreams()} streams open): Relay RSS +{(after - before) / 1048576.0:0.0} MB, {(after - before) / 1024.0 / users.Count:0.0} KB per session; PocketBase RSS +{(pbAfter - pbBefore) / 1024.0 / users.Count:0.0} KB per stream"));
    await ScenarioRunner.DisconnectAsync(clients);
}

var report = new System.Text.StringBuilder()
    .AppendLine(CultureInfo.InvariantCulture, $"Relay.Bench {(quick ? "--quick" : "(full)")}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {(DateTime.UtcNow - started).TotalMinutes:0.0} min")
    .AppendLine()
    .AppendLine(ScenarioResult.Header);
foreach (var result in results)
{
    report.AppendLine(result.Row);
}

report.AppendLine();
foreach (var line in extra)
{
    report.AppendLine(line);
}

Console.WriteLine(report);
if (outFile is not null)
{
    await File.WriteAllTextAsync(outFile, report.ToString());
}

var lost = results.Where(r => r.Delivered < r.Expected && r.Scenario != "throughput").ToList();
return lost.Count == 0 ? 0 : 1;
