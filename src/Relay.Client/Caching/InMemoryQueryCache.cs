using System.Text.Json;

namespace Relay.Client.Caching;

/// <summary>
/// A small thread-safe query cache for .NET apps (and the tests of the strategy): queries are observed with a fetcher,
/// fetched when first observed or invalidated, and a fetch that was cancelled or overtaken by newer data never writes.
/// </summary>
public sealed partial class InMemoryQueryCache : IQueryCache
{
    private readonly Lock _gate = new();
    private readonly Dictionary<QueryKey, Entry> _entries = [];

    /// <summary>Observes <paramref name="key"/> (like a mounted view) and fetches it if it has no fresh data.</summary>
    /// <param name="key">The query key.</param>
    /// <param name="fetcher">Loads the query's data; called on first observation and on every invalidation while observed.</param>
    /// <returns>Dispose it to stop observing.</returns>
    public IDisposable Observe(QueryKey key, Func<CancellationToken, Task<JsonElement?>> fetcher)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fetcher);
        bool fetch;
        lock (_gate)
        {
            var entry = GetOrAdd(key);
            entry.Observers++;
            entry.Fetcher = fetcher;
            fetch = !entry.HasData || entry.Stale;
        }

        if (fetch)
        {
            _ = FetchAsync(key);
        }

        return new Observation(this, key);
    }

    /// <summary>Fetches <paramref name="key"/> now with its fetcher, replacing a fetch in flight.</summary>
    /// <param name="key">The query key.</param>
    /// <returns>Completes when the fetch has written its data (or was overtaken).</returns>
    public Task FetchAsync(QueryKey key)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(key, out var entry) && entry.Fetcher is not null ? StartFetch(key, entry) : Task.CompletedTask;
        }
    }

    /// <summary>Completes when no fetch is in flight.</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] inFlight;
            lock (_gate)
            {
                inFlight = [.. _entries.Values.Where(static e => e.FetchTask is { IsCompleted: false }).Select(static e => e.FetchTask!)];
            }

            if (inFlight.Length == 0)
            {
                return;
            }

            await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>A copy of every key's data.</summary>
    public IReadOnlyDictionary<QueryKey, JsonElement?> Snapshot()
    {
        lock (_gate)
        {
            return _entries.Where(static e => e.Value.HasData).ToDictionary(static e => e.Key, static e => e.Value.Data);
        }
    }

    /// <inheritdoc />
    public JsonElement? GetData(QueryKey key)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(key, out var entry) ? entry.Data : null;
        }
    }

    /// <inheritdoc />
    public bool IsObserved(QueryKey key)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(key, out var entry) && entry.Observers > 0;
        }
    }

    /// <inheritdoc />
    public Task CancelFetchAsync(QueryKey key)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                entry.Generation++;
                entry.InFlight?.Cancel();
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void SetData(QueryKey key, JsonElement? data)
    {
        lock (_gate)
        {
            var entry = GetOrAdd(key);
            // Newer than anything a fetch in flight could bring.
            entry.Generation++;
            entry.Data = data?.Clone();
            entry.HasData = true;
            entry.Stale = false;
            entry.Error = null;
            Publish(entry);
        }
    }

    /// <inheritdoc />
    public void Remove(QueryKey key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                return;
            }

            if (entry.Observers > 0)
            {
                // A mounted view must see the record disappear, and keep seeing later data for the key.
                entry.Generation++;
                entry.Data = null;
                entry.HasData = true;
                Publish(entry);
                return;
            }

            entry.InFlight?.Cancel();
            _entries.Remove(key);
        }
    }

    /// <inheritdoc />
    public void RemoveUnobserved(QueryKey prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        lock (_gate)
        {
            foreach (var key in _entries.Where(e => e.Key.StartsWith(prefix) && e.Value.Observers == 0).Select(static e => e.Key).ToList())
            {
                _entries[key].InFlight?.Cancel();
                _entries.Remove(key);
            }
        }
    }

    /// <inheritdoc />
    public Task InvalidateAsync(QueryKey prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var fetches = new List<Task>();
        lock (_gate)
        {
            foreach (var (key, entry) in _entries)
            {
                if (!key.StartsWith(prefix))
                {
                    continue;
                }

                entry.Stale = true;
                if (entry.Observers > 0 && entry.Fetcher is not null)
                {
                    fetches.Add(StartFetch(key, entry));
                }
            }
        }

        return Task.WhenAll(fetches);
    }

    private Entry GetOrAdd(QueryKey key)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            entry = new Entry();
            _entries.Add(key, entry);
        }

        return entry;
    }

    // Called under _gate.
    private Task StartFetch(QueryKey key, Entry entry)
    {
        entry.InFlight?.Cancel();
        var cancellation = new CancellationTokenSource();
        var generation = ++entry.Generation;
        var fetcher = entry.Fetcher!;
        entry.InFlight = cancellation;
        entry.FetchTask = RunFetchAsync(key, entry, fetcher, generation, cancellation);
        Publish(entry);
        return entry.FetchTask;
    }

    private async Task RunFetchAsync(QueryKey key, Entry entry, Func<CancellationToken, Task<JsonElement?>> fetcher, long generation, CancellationTokenSource cancellation)
    {
        try
        {
            var data = await fetcher(cancellation.Token).ConfigureAwait(false);
            lock (_gate)
            {
                // Written only if nothing newer (a pushed record, a later fetch, a cancel) happened meanwhile.
                if (entry.Generation == generation && !cancellation.IsCancellationRequested && _entries.TryGetValue(key, out var current) && current == entry)
                {
                    entry.Data = data?.Clone();
                    entry.HasData = true;
                    entry.Stale = false;
                    entry.Error = null;
                    Publish(entry);
                }
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Superseded.
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                if (entry.Generation == generation)
                {
                    entry.Error = ex;
                    Publish(entry);
                }
            }

            throw;
        }
        finally
        {
            lock (_gate)
            {
                if (entry.InFlight == cancellation)
                {
                    entry.InFlight = null;
                    Publish(entry);
                }
            }

            cancellation.Dispose();
        }
    }

    private void Unobserve(QueryKey key)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry) && entry.Observers > 0)
            {
                entry.Observers--;
            }
        }
    }

    private sealed class Observation(InMemoryQueryCache cache, QueryKey key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                cache.Unobserve(key);
            }
        }
    }
}
