using System.Text.Json;

namespace Relay.Client.Caching;

/// <summary>Bindable entries: what a MAUI, WPF or Avalonia view binds to.</summary>
public sealed partial class InMemoryQueryCache
{
    /// <summary>
    /// Observes <paramref name="key"/> like <see cref="Observe"/> (fetching it if it has no fresh data) and returns an
    /// entry a view can bind to: <see cref="QueryEntry.Data"/>, <see cref="QueryEntry.IsFetching"/> and
    /// <see cref="QueryEntry.Error"/> raise <see cref="System.ComponentModel.INotifyPropertyChanged.PropertyChanged"/>, and
    /// the entry is an <see cref="IObservable{T}"/> of the data. Notifications are posted to the
    /// <see cref="SynchronizationContext"/> current when this is called (the UI thread, in a UI app), or to the thread pool.
    /// </summary>
    /// <param name="key">The query key.</param>
    /// <param name="fetcher">Loads the query's data; called on first observation and on every invalidation while observed.</param>
    /// <returns>The entry; dispose it to stop observing (its observers then complete).</returns>
    public QueryEntry Watch(QueryKey key, Func<CancellationToken, Task<JsonElement?>> fetcher)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fetcher);
        var watcher = new QueryEntry(this, key, SynchronizationContext.Current);
        lock (_gate)
        {
            var entry = GetOrAdd(key);
            entry.Watchers = [.. entry.Watchers, watcher];
            // The entry starts from what the cache holds now (a view mounted after the data arrived shows it at once).
            Publish(entry);
        }

        watcher.Observation = Observe(key, fetcher);
        return watcher;
    }

    internal void Unwatch(QueryKey key, QueryEntry watcher)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                entry.Watchers = [.. entry.Watchers.Where(w => w != watcher)];
            }
        }
    }

    // Called under _gate. Watchers apply the state later, on their context: never user code under the cache's lock.
    private static void Publish(Entry entry)
    {
        if (entry.Watchers.Length == 0)
        {
            return;
        }

        var state = new QueryState(entry.Data, entry.HasData, entry.InFlight is not null, entry.Error, ++entry.Version);
        foreach (var watcher in entry.Watchers)
        {
            watcher.Post(state);
        }
    }
}
