using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client;
using Relay.Client.Caching;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Relay.Sessions;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// Random writes by another user, with client transport drops in the middle: afterwards every client's cache equals
/// PocketBase's state. Divergences are counted (must be 0) and the time to converge is reported.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class ConvergenceTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Operations = 1_000;
    private const string Board = "board";

    [Fact]
    public async Task RandomWritesWithDrops_EveryClientCacheConvergesToPocketBase()
    {
        await EnsureBoardCollectionAsync();
        var writer = await pocketBase.CreateUserAsync("writer");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var viewers = new List<(string Name, RelayClient Client, InMemoryQueryCache Cache, string Token, IDisposable List)>();
        var resyncs = 0;
        var details = new List<IDisposable>();
        foreach (var (name, user) in new[] { ("alice", pocketBase.Alice), ("bob", pocketBase.Bob) })
        {
            var token = user.Token;
            var client = new RelayClient(new RelayClientOptions
            {
                Url = relay.Url,
                AccessTokenProvider = _ => ValueTask.FromResult<string?>(token),
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            });
            client.Resync += _ =>
            {
                Interlocked.Increment(ref resyncs);
                return Task.CompletedTask;
            };
            await client.StartAsync().DefaultTimeout();
            var cache = new InMemoryQueryCache();
            await client.SyncCacheAsync(cache, $"{Board}/*").DefaultTimeout();
            var list = cache.Observe(QueryKey.List(Board, "all"), ct => FetchListAsync(token, ct));
            viewers.Add((name, client, cache, token, list));
        }

        var random = new Random(20261125);
        var live = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        for (var op = 0; op < Operations; op++)
        {
            if (op is 250 or 600)
            {
                // Cut both viewers' transports mid-stream; SignalR's stateful reconnect must lose nothing.
                foreach (var session in new[] { pocketBase.Alice, pocketBase.Bob })
                {
                    foreach (var connection in relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(session.CollectionId, session.Id))!.Connections)
                    {
                        connection.AbortTransport();
                    }
                }
            }

            var roll = random.NextDouble();
            if (live.Count == 0 || roll < 0.4)
            {
                var created = await pocketBase.Admin.CreateRecordAsync(Board, new { name = $"item {op}", owner = writer.Id }, writer.Token).DefaultTimeout();
                var id = created.GetProperty("id").GetString()!;
                live.Add(id);
                if (details.Count < 20)
                {
                    // Some viewers keep a detail view open, fetched like an app would.
                    var viewer = viewers[details.Count % viewers.Count];
                    details.Add(viewer.Cache.Observe(QueryKey.Detail(Board, id), ct => FetchDetailAsync(viewer.Token, id, ct)));
                }
            }
            else if (roll < 0.8)
            {
                var id = live[random.Next(live.Count)];
                await pocketBase.Admin.UpdateRecordAsync(Board, id, new { name = $"item {op} (updated)" }, writer.Token).DefaultTimeout();
            }
            else
            {
                var index = random.Next(live.Count);
                await pocketBase.Admin.DeleteRecordAsync(Board, live[index], writer.Token).DefaultTimeout();
                live.RemoveAt(index);
            }
        }

        var writeSeconds = stopwatch.Elapsed.TotalSeconds;
        var lastWrite = Stopwatch.GetTimestamp();
        var truth = await FetchTruthAsync();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        int divergences;
        while ((divergences = viewers.Sum(v => Divergences(v.Cache, truth))) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var converge = Stopwatch.GetElapsedTime(lastWrite).TotalMilliseconds;
        foreach (var viewer in viewers)
        {
            foreach (var (key, data) in viewer.Cache.Snapshot())
            {
                var expected = key.Count == 3 && key[1] == "detail" ? truth.GetValueOrDefault(key[2]) : null;
                var actual = data is { ValueKind: JsonValueKind.Object } record ? record.GetProperty("name").GetString() : null;
                if (key[1] == "detail" && expected != actual)
                {
                    output.WriteLine($"diverged: {viewer.Name} {key}: cache '{actual}', PocketBase '{expected}'");
                }
            }
        }

        var line = $"convergence (.NET client): {Operations} random create/update/delete by another user in {writeSeconds:0.0} s, 2 transport drops per client, "
            + $"{viewers.Count} clients, {truth.Count} records left; {resyncs} resync(s); divergences {divergences}; converged {converge:0} ms after the last write";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);
        Assert.Equal(0, divergences);

        foreach (var detail in details)
        {
            detail.Dispose();
        }

        foreach (var viewer in viewers)
        {
            viewer.List.Dispose();
            await viewer.Client.DisposeAsync();
        }
    }

    /// <summary>Mismatches between a client's cache and PocketBase: the list's (id, name) set, and every cached detail.</summary>
    private static int Divergences(InMemoryQueryCache cache, Dictionary<string, string> truth)
    {
        var count = 0;
        var list = cache.GetData(QueryKey.List(Board, "all"));
        var listed = list is { ValueKind: JsonValueKind.Array } items
            ? items.EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("name").GetString()!)
            : [];
        count += listed.Count(pair => !truth.TryGetValue(pair.Key, out var name) || name != pair.Value);
        count += truth.Keys.Count(id => !listed.ContainsKey(id));

        foreach (var (key, data) in cache.Snapshot())
        {
            if (key.Count == 3 && key[1] == "detail")
            {
                var expected = truth.GetValueOrDefault(key[2]);
                var actual = data is { ValueKind: JsonValueKind.Object } record ? record.GetProperty("name").GetString() : null;
                count += expected == actual ? 0 : 1;
            }
        }

        return count;
    }

    private async Task<Dictionary<string, string>> FetchTruthAsync()
    {
        var page = await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{Board}/records?perPage=500", null, null).DefaultTimeout();
        return page.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("name").GetString()!);
    }

    private async Task<JsonElement?> FetchListAsync(string token, CancellationToken cancellationToken)
        => (await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{Board}/records?perPage=500", null, token, cancellationToken)).GetProperty("items");

    private async Task<JsonElement?> FetchDetailAsync(string token, string id, CancellationToken cancellationToken)
    {
        try
        {
            return await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{Board}/records/{id}", null, token, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task EnsureBoardCollectionAsync()
    {
        try
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{Board}", null, null);
            // A previous run's records would be shared state: start empty.
            foreach (var id in (await FetchTruthAsync()).Keys)
            {
                await pocketBase.Admin.DeleteRecordAsync(Board, id);
            }
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            await pocketBase.Admin.CreateCollectionAsync(
                new CollectionDefinition(Board, FieldDefinition.Text("name"), FieldDefinition.Relation("owner", "users", required: true))
                    .WithReadRule("@request.auth.id != \"\"")
                    .WithWriteRule("owner = @request.auth.id"));
        }
    }
}
