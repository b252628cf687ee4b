using System.Globalization;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// Relay instances as OS processes in cluster mode on one <c>redis-server</c>, each through a link of its own to Redis
/// (<see cref="BlackholeProxy"/>, so one instance can be cut off), behind a round-robin load balancer. An instance
/// killed or stopping leaves the rotation at once, as a load balancer's health check would take it out.
/// </summary>
internal sealed class ChaosCluster(Uri pocketBase, RedisProcess redis) : IAsyncDisposable
{
    private readonly List<(RelayProcess Process, BlackholeProxy Link)> _all = [];
    private readonly List<RelayProcess> _live = [];
    private int _started;

    public RoundRobinForwarder Forwarder { get; } = new();

    public RedisProcess Redis => redis;

    /// <summary>The instances in rotation (not killed, not stopping).</summary>
    public IReadOnlyList<RelayProcess> Live
    {
        get
        {
            lock (_live)
            {
                return [.. _live];
            }
        }
    }

    public IReadOnlyList<RelayProcess> All
    {
        get
        {
            lock (_live)
            {
                return [.. _all.Select(static entry => entry.Process)];
            }
        }
    }

    public async Task<RelayProcess> StartInstanceAsync()
    {
        var link = new BlackholeProxy(redis.Port);
        var number = Interlocked.Increment(ref _started) - 1;

        var settings = new Dictionary<string, string>
        {
            ["Relay:Redis:Configuration"] = $"127.0.0.1:{link.Port},connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000",
            ["Relay:Cluster:LeaseTime"] = "00:00:03",
            ["Relay:Cluster:RenewInterval"] = "00:00:00.500",
            ["Relay:Cluster:HandoverTimeout"] = "00:00:10",
            // Short, so a closed tab's session ends (and hands over) within the recreate phase.
            ["Relay:Sessions:Linger"] = "00:00:01",
            // Every client of the test comes from 127.0.0.1.
            ["Relay:GuestLimits:MaxConnectionsPerIp"] = "100000",
            ["Serilog:MinimumLevel:Default"] = "Information",
        };
        RelayProcess process;
        try
        {
            process = await RelayProcess.StartAsync($"relay-{number}", pocketBase, settings);
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }

        lock (_live)
        {
            _all.Add((process, link));
            _live.Add(process);
        }

        Forwarder.Add(process.Url);
        return process;
    }

    /// <summary>The live instance that runs the most session streams for the cluster, and how many.</summary>
    public async Task<(RelayProcess Instance, long Owned)> MostOwningAsync()
    {
        var owned = await Task.WhenAll(Live.Select(async instance => (instance, await instance.GaugeAsync("relay_cluster_owned_streams"))));
        return owned.MaxBy(static entry => entry.Item2);
    }

    public async Task<string> OwnedSummaryAsync()
    {
        var owned = await Task.WhenAll(Live.Select(async instance => $"{instance.Name} {await instance.GaugeAsync("relay_cluster_owned_streams")}"));
        return string.Join(", ", owned);
    }

    /// <summary>SIGKILL.</summary>
    public void Kill(RelayProcess instance)
    {
        Retire(instance);
        instance.Kill();
    }

    /// <summary>SIGTERM (the process drains and hands its streams over, then exits).</summary>
    public void Terminate(RelayProcess instance)
    {
        Retire(instance);
        instance.Terminate();
    }

    public BlackholeProxy LinkOf(RelayProcess instance)
    {
        lock (_live)
        {
            return _all.Single(entry => entry.Process == instance).Link;
        }
    }

    /// <summary>Writes each instance's cluster log lines and warnings (and worse) for the reader of a failed run.</summary>
    public void WriteLogs(ITestOutputHelper output, int limit = 4000)
    {
        foreach (var line in LogLines().TakeLast(limit))
        {
            output.WriteLine(line);
        }
    }

    /// <summary>Every instance's cluster log (and warnings) to <paramref name="path"/>, whether the run passed or not.</summary>
    public void WriteLogs(string path) => File.WriteAllLines(path, LogLines());

    private List<string> LogLines()
        => All
            .SelectMany(static instance => instance.Logs.Select(line => (instance.Name, line)))
            .Where(static entry => entry.line.Category.StartsWith("Relay.Cluster", StringComparison.Ordinal) || entry.line.Level is "Warning" or "Error" or "Fatal" or "Raw")
            .OrderBy(static entry => entry.line.Time)
            .Select(static entry => string.Create(CultureInfo.InvariantCulture, $"[{entry.Name}] {entry.line.Time:HH:mm:ss.fff} {entry.line.Level} {entry.line.EventId} {entry.line.Message}"))
            .ToList();

    public async ValueTask DisposeAsync()
    {
        await Forwarder.DisposeAsync();
        List<(RelayProcess Process, BlackholeProxy Link)> all;
        lock (_live)
        {
            all = [.. _all];
        }

        foreach (var (process, link) in all)
        {
            await process.DisposeAsync();
            await link.DisposeAsync();
        }
    }

    private void Retire(RelayProcess instance)
    {
        Forwarder.Remove(instance.Url);
        lock (_live)
        {
            _live.Remove(instance);
        }
    }
}
