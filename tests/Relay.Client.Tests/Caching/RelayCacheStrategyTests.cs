using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.Client.Caching;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Caching;

public class RelayCacheStrategyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static RelayEvent Event(string action, string id, string title, string? extra = null)
        => new() { Topic = "patients/*", Action = action, Record = Json($$"""{"id":"{{id}}","collectionName":"patients","name":"{{title}}"{{extra}}}""") };

    [Fact]
    public async Task Update_WhileOlderFetchInFlight_PushedRecordWins()
    {
        var cache = new InMemoryQueryCache();
        var release = new TaskCompletionSource();
        var key = QueryKey.Detail("patients", "p1");
        using var view = cache.Observe(key, async ct =>
        {
            await release.Task.WaitAsync(ct);
            return Json("""{"id":"p1","name":"old"}""");
        });
        var strategy = new RelayCacheStrategy(cache);

        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "new")).WaitAsync(Timeout);
        release.SetResult();
        await cache.WhenIdleAsync().WaitAsync(Timeout);

        Assert.Equal("new", cache.GetData(key)!.Value.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Delete_ObservedDetail_SetToNullAndLaterDataStillSeen()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        using var view = cache.Observe(key, _ => Task.FromResult<JsonElement?>(Json("""{"id":"p1","name":"a"}""")));
        await cache.WhenIdleAsync().WaitAsync(Timeout);
        var strategy = new RelayCacheStrategy(cache);

        await strategy.ApplyAsync(Event(RelayActions.Delete, "p1", "a")).WaitAsync(Timeout);

        Assert.True(cache.Snapshot().ContainsKey(key));
        Assert.Null(cache.GetData(key));
        // The id created again (PocketBase allows custom ids): its later changes are seen.
        await strategy.ApplyAsync(Event(RelayActions.Create, "p1", "again")).WaitAsync(Timeout);
        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "back")).WaitAsync(Timeout);
        Assert.Equal("back", cache.GetData(key)!.Value.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Update_ArrivingAfterItsRecordsDelete_Dropped()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        cache.SetData(key, Json("""{"id":"p1","name":"a"}"""));
        var strategy = new RelayCacheStrategy(cache);

        // PocketBase 0.22.20 sends each event from its own goroutine: the update written before the delete can come after it.
        await strategy.ApplyAsync(Event(RelayActions.Delete, "p1", "a")).WaitAsync(Timeout);
        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "stale")).WaitAsync(Timeout);

        Assert.False(cache.Snapshot().ContainsKey(key));
    }

    private static string Updated(string updated) => $",\"updated\":\"{updated}\"";

    [Fact]
    public async Task Update_OlderThanTheCachedRecord_Dropped_NewerApplied()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        var strategy = new RelayCacheStrategy(cache);

        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "second", Updated("2026-11-30 12:00:00.200Z"))).WaitAsync(Timeout);
        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "first", Updated("2026-11-30 12:00:00.100Z"))).WaitAsync(Timeout);
        Assert.Equal("second", cache.GetData(key)!.Value.GetProperty("name").GetString());

        await strategy.ApplyAsync(Event(RelayActions.Update, "p1", "third", Updated("2026-11-30 12:00:00.300Z"))).WaitAsync(Timeout);
        Assert.Equal("third", cache.GetData(key)!.Value.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Delete_UnobservedDetail_Removed()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        cache.SetData(key, Json("""{"id":"p1"}"""));

        await new RelayCacheStrategy(cache).ApplyAsync(Event(RelayActions.Delete, "p1", "a")).WaitAsync(Timeout);

        Assert.False(cache.Snapshot().ContainsKey(key));
    }

    [Fact]
    public async Task Update_EventWithoutExpand_KeepsTheDetailsExpand()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        cache.SetData(key, Json("""{"id":"p1","name":"a","expand":{"owner":{"id":"u1","email":"e@x"}}}"""));

        await new RelayCacheStrategy(cache).ApplyAsync(Event(RelayActions.Update, "p1", "b")).WaitAsync(Timeout);

        var data = cache.GetData(key)!.Value;
        Assert.Equal("b", data.GetProperty("name").GetString());
        Assert.Equal("e@x", data.GetProperty("expand").GetProperty("owner").GetProperty("email").GetString());
    }

    [Fact]
    public async Task LoneCreate_RefetchesListsAtOnce_WithoutWaitingForTheWindow()
    {
        var clock = new FakeTimeProvider();
        var cache = new InMemoryQueryCache();
        using var list = await ObserveListAsync(cache);
        var strategy = new RelayCacheStrategy(cache, TimeSpan.FromHours(1), clock);

        await strategy.ApplyAsync(Event(RelayActions.Create, "p1", "x")).WaitAsync(Timeout);
        await cache.WhenIdleAsync().WaitAsync(Timeout);

        Assert.Equal(2, list.Fetches); // the first observation, then the create's refetch with the clock standing still
        await CloseWindowsAsync(strategy, clock, TimeSpan.FromHours(1));
        Assert.Equal(2, list.Fetches); // nothing else arrived in the window: no trailing refetch
    }

    [Fact]
    public async Task Burst_OfCreates_CoalescedIntoOneLeadingAndOneTrailingRefetch()
    {
        var clock = new FakeTimeProvider();
        var window = TimeSpan.FromMilliseconds(100);
        var cache = new InMemoryQueryCache();
        using var list = await ObserveListAsync(cache);
        var strategy = new RelayCacheStrategy(cache, window, clock);

        for (var i = 0; i < 50; i++)
        {
            await strategy.ApplyAsync(Event(RelayActions.Create, $"p{i}", "x")).WaitAsync(Timeout);
        }

        await cache.WhenIdleAsync().WaitAsync(Timeout);
        Assert.Equal(2, list.Fetches); // the first observation, then the burst's first event at once

        await CloseWindowsAsync(strategy, clock, window);
        await cache.WhenIdleAsync().WaitAsync(Timeout);
        Assert.Equal(3, list.Fetches); // one more for the other 49, after the last of them

        await strategy.ApplyAsync(Event(RelayActions.Create, "late", "x")).WaitAsync(Timeout);
        await cache.WhenIdleAsync().WaitAsync(Timeout);
        Assert.Equal(4, list.Fetches); // the window closed: the next change is refetched at once again
        await CloseWindowsAsync(strategy, clock, window);
    }

    /// <summary>Observes a patients list whose fetcher counts its calls; completes after the first fetch.</summary>
    private static async Task<CountingList> ObserveListAsync(InMemoryQueryCache cache)
    {
        var list = new CountingList();
        list.Observation = cache.Observe(QueryKey.List("patients", "all"), _ =>
        {
            Interlocked.Increment(ref list.Fetches);
            return Task.FromResult<JsonElement?>(Json("[]"));
        });
        await cache.WhenIdleAsync().WaitAsync(Timeout);
        return list;
    }

    private sealed class CountingList : IDisposable
    {
        public int Fetches;

        public IDisposable? Observation { get; set; }

        public void Dispose() => Observation?.Dispose();
    }

    /// <summary>Moves the fake clock on until every open coalescing window has closed.</summary>
    private static async Task CloseWindowsAsync(RelayCacheStrategy strategy, FakeTimeProvider clock, TimeSpan window)
    {
        var flushed = strategy.FlushAsync();
        var deadline = DateTime.UtcNow + Timeout;
        while (!flushed.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the coalescing windows never closed");
            clock.Advance(window);
            await Task.WhenAny(flushed, Task.Delay(10));
        }

        await flushed;
    }

    [Fact]
    public async Task Resync_RefetchesEveryObservedQueryOfTheCollection()
    {
        var cache = new InMemoryQueryCache();
        var fetched = new List<string>();
        Func<CancellationToken, Task<JsonElement?>> Fetcher(string name) => _ =>
        {
            lock (fetched)
            {
                fetched.Add(name);
            }

            return Task.FromResult<JsonElement?>(Json("{}"));
        };
        using var list = cache.Observe(QueryKey.List("patients", "all"), Fetcher("list"));
        using var detail = cache.Observe(QueryKey.Detail("patients", "p1"), Fetcher("detail"));
        using var other = cache.Observe(QueryKey.List("notes", "all"), Fetcher("notes"));
        await cache.WhenIdleAsync().WaitAsync(Timeout);
        fetched.Clear();

        await new RelayCacheStrategy(cache).ApplyResyncAsync(new ResyncSignal { Topics = ["patients/*"], Reason = ResyncReasons.Reconnected }).WaitAsync(Timeout);

        Assert.Equal(["detail", "list"], fetched.Order());
    }

    [Fact]
    public async Task Resync_DropsUnobservedDetailsThatMayBeOutdated()
    {
        var cache = new InMemoryQueryCache();
        var pushed = QueryKey.Detail("patients", "p9");
        cache.SetData(pushed, Json("""{"id":"p9","name":"maybe deleted in the gap"}"""));
        cache.SetData(QueryKey.Detail("notes", "n1"), Json("""{"id":"n1"}"""));

        await new RelayCacheStrategy(cache).ApplyResyncAsync(new ResyncSignal { Topics = ["patients/*"], Reason = ResyncReasons.Overflow }).WaitAsync(Timeout);

        Assert.False(cache.Snapshot().ContainsKey(pushed));
        Assert.True(cache.Snapshot().ContainsKey(QueryKey.Detail("notes", "n1")));
    }

    [Fact]
    public void QueryKey_PrefixMatchAndEquality()
    {
        Assert.True(QueryKey.List("patients", "all").StartsWith(QueryKey.Lists("patients")));
        Assert.True(QueryKey.Detail("patients", "p1").StartsWith(QueryKey.Collection("patients")));
        Assert.False(QueryKey.Detail("patients", "p1").StartsWith(QueryKey.Lists("patients")));
        Assert.Equal(QueryKey.Detail("patients", "p1"), new QueryKey("patients", "detail", "p1"));
        Assert.Throws<ArgumentException>(() => new QueryKey());
    }
}
