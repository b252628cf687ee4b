using Relay.Testing.PocketBase;
namespace Relay.Bench;

/// <summary>
/// The cluster scenarios' processes: a <c>redis-server</c> on a free port, three Relay instances in cluster mode on it
/// (<c>Relay__Redis__Configuration</c>), and two more instances running alone which, with the bench's own Relay, make
/// three independent instances. All run the build under test, against the bench's PocketBase.
/// </summary>
internal sealed class ClusterBench : IAsyncDisposable
{
    private readonly RedisProcess _redis;

    private ClusterBench(RedisProcess redis, IReadOnlyList<RelayInstance> members, IReadOnlyList<RelayInstance> alone)
    {
        _redis = redis;
        Members = members;
        Alone = alone;
    }

    /// <summary>Three instances in cluster mode on one Redis.</summary>
    public IReadOnlyList<RelayInstance> Members { get; }

    /// <summary>Three instances without Redis (the first is the bench's own Relay).</summary>
    public IReadOnlyList<RelayInstance> Alone { get; }

    public static async Task<ClusterBench> StartAsync(BenchEnvironment environment)
    {
        Console.Error.WriteLine("starting redis-server and 5 more Relay instances (3 in cluster mode, 2 alone)...");
        var redis = await RedisProcess.StartAsync();
        var clusterSettings = new Dictionary<string, string> { ["Relay__Redis__Configuration"] = redis.Configuration };
        var starting = new List<Task<RelayInstance>>
        {
            RelayInstance.StartAsync(environment.PocketBase.Url, environment.RelayDll, clusterSettings, "relay-c1"),
            RelayInstance.StartAsync(environment.PocketBase.Url, environment.RelayDll, clusterSettings, "relay-c2"),
            RelayInstance.StartAsync(environment.PocketBase.Url, environment.RelayDll, clusterSettings, "relay-c3"),
            RelayInstance.StartAsync(environment.PocketBase.Url, environment.RelayDll, null, "relay-a2"),
            RelayInstance.StartAsync(environment.PocketBase.Url, environment.RelayDll, null, "relay-a3"),
        };
        try
        {
            var instances = await Task.WhenAll(starting);
            return new ClusterBench(redis, instances[..3], [environment.Relay, instances[3], instances[4]]);
        }
        catch
        {
            foreach (var task in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await task.Result.DisposeAsync();
            }

            await redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Members.Concat(Alone.Skip(1)))
        {
            await instance.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }
}
