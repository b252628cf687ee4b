using System.Text.Json;

namespace Relay.Client.Caching;

/// <summary>
/// The operations the cache strategy needs from a query cache (TanStack Query's <c>QueryClient</c> has them all; so
/// does <see cref="InMemoryQueryCache"/>). Data is the JSON the query's fetcher returned, or a record pushed by Relay.
/// </summary>
public interface IQueryCache
{
    /// <summary>The data held for exactly <paramref name="key"/>; <see langword="null"/> when none (or it was set to null).</summary>
    /// <param name="key">The query key.</param>
    JsonElement? GetData(QueryKey key);

    /// <summary>True when something currently observes exactly <paramref name="key"/> (a mounted view).</summary>
    /// <param name="key">The query key.</param>
    bool IsObserved(QueryKey key);

    /// <summary>Cancels a fetch in flight for exactly <paramref name="key"/>, so its older response cannot overwrite newer data.</summary>
    /// <param name="key">The query key.</param>
    Task CancelFetchAsync(QueryKey key);

    /// <summary>Sets the data of exactly <paramref name="key"/>.</summary>
    /// <param name="key">The query key.</param>
    /// <param name="data">The data; <see langword="null"/> means "gone" for an observed query.</param>
    void SetData(QueryKey key, JsonElement? data);

    /// <summary>Drops exactly <paramref name="key"/> from the cache (only when nothing observes it).</summary>
    /// <param name="key">The query key.</param>
    void Remove(QueryKey key);

    /// <summary>Drops every query starting with <paramref name="prefix"/> that nothing observes (TanStack: <c>removeQueries({ type: 'inactive' })</c>).</summary>
    /// <param name="prefix">The key prefix.</param>
    void RemoveUnobserved(QueryKey prefix);

    /// <summary>Marks every query starting with <paramref name="prefix"/> stale and refetches the observed ones.</summary>
    /// <param name="prefix">The key prefix.</param>
    Task InvalidateAsync(QueryKey prefix);
}
