using System.ComponentModel;
using System.Text.Json;

namespace Relay.Client.Caching;

/// <summary>
/// One query of an <see cref="InMemoryQueryCache"/>, bindable by a view (returned by <see cref="InMemoryQueryCache.Watch"/>):
/// its properties raise <see cref="PropertyChanged"/>, and it is an <see cref="IObservable{T}"/> of its data (a new
/// subscriber gets the current data first, if any). Changes carry the latest state; states superseded before they were
/// delivered are skipped. Notifications run on the <see cref="SynchronizationContext"/> that created it, or on the thread pool.
/// </summary>
public sealed class QueryEntry : INotifyPropertyChanged, IObservable<JsonElement?>, IDisposable
{
    private readonly InMemoryQueryCache _cache;
    private readonly SynchronizationContext? _context;
    private readonly Lock _gate = new();
    private IObserver<JsonElement?>[] _observers = [];
    private QueryState _state = new(null, false, false, null, 0);
    private int _disposed;

    internal QueryEntry(InMemoryQueryCache cache, QueryKey key, SynchronizationContext? context)
    {
        _cache = cache;
        _context = context;
        Key = key;
    }

    /// <inheritdoc />
    public event PropertyChangedEventHandler? PropertyChanged;

    /// <summary>The query key.</summary>
    public QueryKey Key { get; }

    /// <summary>The query's data: what its fetcher returned, or a record Relay pushed; <see langword="null"/> before the first fetch, or when the record was deleted.</summary>
    public JsonElement? Data => _state.Data;

    /// <summary>True once the entry has data (which may be <see langword="null"/> for a deleted record).</summary>
    public bool HasData => _state.HasData;

    /// <summary>True while a fetch is in flight (first load, or a refetch after a change or a resync).</summary>
    public bool IsFetching => _state.IsFetching;

    /// <summary>The last fetch's failure, or <see langword="null"/>; cleared by the next data.</summary>
    public Exception? Error => _state.Error;

    internal IDisposable? Observation { get; set; }

    /// <summary>The data deserialized as <typeparamref name="T"/>, or <see langword="default"/> when there is none.</summary>
    /// <typeparam name="T">The record or list type.</typeparam>
    /// <param name="options">Serializer options. Default: <see cref="JsonSerializerOptions.Web"/> (camelCase, like PocketBase).</param>
    public T? Get<T>(JsonSerializerOptions? options = null)
        => _state.Data is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } data ? data.Deserialize<T>(options ?? JsonSerializerOptions.Web) : default;

    /// <inheritdoc />
    public IDisposable Subscribe(IObserver<JsonElement?> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        QueryState state;
        lock (_gate)
        {
            _observers = [.. _observers, observer];
            state = _state;
        }

        if (state.HasData)
        {
            observer.OnNext(state.Data);
        }

        return new Unsubscriber(this, observer);
    }

    /// <summary>Stops observing the query (the cache may then drop it) and completes the observers. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _cache.Unwatch(Key, this);
        Observation?.Dispose();
        IObserver<JsonElement?>[] observers;
        lock (_gate)
        {
            observers = _observers;
            _observers = [];
        }

        foreach (var observer in observers)
        {
            observer.OnCompleted();
        }
    }

    internal void Post(QueryState state)
    {
        if (_context is { } context)
        {
            context.Post(static s =>
            {
                var (entry, next) = ((QueryEntry, QueryState))s!;
                entry.Apply(next);
            }, (this, state));
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Entry.Apply(s.State), (Entry: this, State: state), preferLocal: false);
        }
    }

    private void Apply(QueryState next)
    {
        QueryState previous;
        IObserver<JsonElement?>[] observers;
        lock (_gate)
        {
            if (Volatile.Read(ref _disposed) == 1 || next.Version <= _state.Version)
            {
                return;
            }

            previous = _state;
            _state = next;
            observers = _observers;
        }

        var dataChanged = previous.HasData != next.HasData || !SameJson(previous.Data, next.Data);
        if (dataChanged)
        {
            Raise(nameof(Data));
        }

        if (previous.HasData != next.HasData)
        {
            Raise(nameof(HasData));
        }

        if (previous.IsFetching != next.IsFetching)
        {
            Raise(nameof(IsFetching));
        }

        if (!ReferenceEquals(previous.Error, next.Error))
        {
            Raise(nameof(Error));
        }

        if (dataChanged && next.HasData)
        {
            foreach (var observer in observers)
            {
                observer.OnNext(next.Data);
            }
        }
    }

    private void Raise(string property) => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(property));

    private static bool SameJson(JsonElement? left, JsonElement? right)
        => left is null ? right is null : right is not null && JsonElement.DeepEquals(left.Value, right.Value);

    private sealed class Unsubscriber(QueryEntry entry, IObserver<JsonElement?> observer) : IDisposable
    {
        public void Dispose()
        {
            lock (entry._gate)
            {
                entry._observers = [.. entry._observers.Where(o => o != observer)];
            }
        }
    }
}
