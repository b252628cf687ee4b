using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Relay.Client.Caching;
using Relay.Client.Protocol;
using Relay.Client.Tests.Infrastructure;

namespace Relay.Client.Tests.Caching;

/// <summary>The bindable entries a MAUI/WPF/Avalonia view binds to.</summary>
public sealed class QueryEntryTests
{
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static string? Name(JsonElement? data) => data?.GetProperty("name").GetString();

    [Fact]
    public async Task Watch_FetchThenPushedUpdate_PropertyChangedAndObserverSeeEachDataInOrder()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        var release = new TaskCompletionSource();
        var changes = Channel.CreateUnbounded<string>();
        var values = Channel.CreateUnbounded<string?>();

        using var entry = cache.Watch(key, async ct =>
        {
            await release.Task.WaitAsync(ct);
            return Json("""{"id":"p1","name":"fetched"}""");
        });
        entry.PropertyChanged += (_, e) => changes.Writer.TryWrite($"{e.PropertyName}={(e.PropertyName == nameof(QueryEntry.Data) ? Name(entry.Data) : e.PropertyName == nameof(QueryEntry.IsFetching) ? entry.IsFetching.ToString() : "")}");
        using var subscription = entry.Subscribe(new Observer(values.Writer));

        await TestTimeouts.WaitUntilAsync(() => entry.IsFetching, "the entry shows the first fetch");
        Assert.False(entry.HasData);
        release.SetResult();
        await cache.WhenIdleAsync().DefaultTimeout();
        Assert.Equal("fetched", await values.Reader.ReadAsync().AsTask().DefaultTimeout());
        await TestTimeouts.WaitUntilAsync(() => !entry.IsFetching, "the fetch is over");

        var strategy = new RelayCacheStrategy(cache);
        await strategy.ApplyAsync(new RelayEvent { Topic = "patients/*", Action = RelayActions.Update, Record = Json("""{"id":"p1","collectionName":"patients","name":"pushed"}""") }).DefaultTimeout();

        Assert.Equal("pushed", await values.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal("pushed", entry.Get<Patient>()!.Name);
        await TestTimeouts.WaitUntilAsync(() => changes.Reader.Count >= 4, "four property changes");
        var seen = new List<string>();
        while (changes.Reader.TryRead(out var change))
        {
            seen.Add(change);
        }

        Assert.Equal("Data=fetched", seen.First(c => c.StartsWith("Data=", StringComparison.Ordinal)));
        Assert.Equal("Data=pushed", seen.Last(c => c.StartsWith("Data=", StringComparison.Ordinal)));
        Assert.Contains("HasData=", seen);
    }

    [Fact]
    public async Task Watch_DataAlreadyCached_NewSubscriberGetsItAtOnceAndDisposeCompletesAndUnobserves()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        cache.SetData(key, Json("""{"id":"p1","name":"cached"}"""));
        var values = Channel.CreateUnbounded<string?>();
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var entry = cache.Watch(key, _ => Task.FromResult<JsonElement?>(Json("""{"id":"p1","name":"cached"}""")));
        await TestTimeouts.WaitUntilAsync(() => entry.HasData, "the entry shows the cached data");
        using var subscription = entry.Subscribe(new Observer(values.Writer, completed));
        Assert.Equal("cached", await values.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.True(cache.IsObserved(key));

        entry.Dispose();

        await completed.Task.DefaultTimeout();
        Assert.False(cache.IsObserved(key));
    }

    [Fact]
    public async Task Watch_FetchFails_ErrorShownAndClearedByTheNextData()
    {
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        var fail = true;
        using var entry = cache.Watch(key, _ => Volatile.Read(ref fail)
            ? Task.FromException<JsonElement?>(new HttpRequestException("PocketBase is down"))
            : Task.FromResult<JsonElement?>(Json("""{"id":"p1","name":"ok"}""")));

        await TestTimeouts.WaitUntilAsync(() => entry.Error is HttpRequestException, "the entry shows the failure");
        Volatile.Write(ref fail, false);
        await cache.InvalidateAsync(key).DefaultTimeout();

        await TestTimeouts.WaitUntilAsync(() => entry.Error is null && Name(entry.Data) == "ok", "the next data clears it");
    }

    [Fact]
    public async Task Watch_CreatedOnASynchronizationContext_NotificationsRunThere()
    {
        using var ui = new SingleThreadContext();
        var cache = new InMemoryQueryCache();
        var key = QueryKey.Detail("patients", "p1");
        var threads = new ConcurrentBag<int>();
        var data = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        QueryEntry entry = null!;
        ui.Send(() =>
        {
            entry = cache.Watch(key, _ => Task.FromResult<JsonElement?>(Json("""{"id":"p1","name":"a"}""")));
            entry.PropertyChanged += (_, e) =>
            {
                threads.Add(Environment.CurrentManagedThreadId);
                if (e.PropertyName == nameof(QueryEntry.Data))
                {
                    data.TrySetResult();
                }
            };
        });

        await data.Task.DefaultTimeout();
        entry.Dispose();

        Assert.NotEmpty(threads);
        Assert.All(threads, id => Assert.Equal(ui.ThreadId, id));
    }

    private sealed record Patient(string Id, string Name);

    private sealed class Observer(ChannelWriter<string?> values, TaskCompletionSource? completed = null) : IObserver<JsonElement?>
    {
        public void OnCompleted() => completed?.TrySetResult();

        public void OnError(Exception error) => completed?.TrySetException(error);

        public void OnNext(JsonElement? value) => values.TryWrite(Name(value));
    }

    /// <summary>A UI-thread stand-in: one thread running posted callbacks in order.</summary>
    private sealed class SingleThreadContext : SynchronizationContext, IDisposable
    {
        private readonly BlockingCollection<Action> _queue = [];
        private readonly Thread _thread;

        public SingleThreadContext()
        {
            _thread = new Thread(() =>
            {
                SetSynchronizationContext(this);
                foreach (var action in _queue.GetConsumingEnumerable())
                {
                    action();
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public int ThreadId => _thread.ManagedThreadId;

        public override void Post(SendOrPostCallback d, object? state) => _queue.Add(() => d(state));

        public void Send(Action action)
        {
            using var done = new ManualResetEventSlim();
            _queue.Add(() =>
            {
                action();
                done.Set();
            });
            Assert.True(done.Wait(TestTimeouts.Default));
        }

        public void Dispose() => _queue.CompleteAdding();
    }
}
