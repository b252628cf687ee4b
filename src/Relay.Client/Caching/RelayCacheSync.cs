using Relay.Client.Caching;

namespace Relay.Client;

/// <summary>Connects a <see cref="IRelayConnection"/> to a query cache through a <see cref="RelayCacheStrategy"/>.</summary>
public static class RelayCacheSync
{
    /// <summary>
    /// Subscribes <paramref name="topics"/> and applies their events, and every resync (Relay's, or the client's own
    /// after a full reconnect), to <paramref name="cache"/>.
    /// </summary>
    /// <param name="client">The client; if it is not connected yet, this waits for the connection (the topics then go out in one call).</param>
    /// <param name="cache">The cache to keep in line.</param>
    /// <param name="topics">The topics whose records the cache holds, e.g. <c>patients/*</c>.</param>
    /// <returns>Dispose it to stop syncing (unsubscribes the topics).</returns>
    public static async Task<IAsyncDisposable> SyncCacheAsync(this IRelayConnection client, IQueryCache cache, params string[] topics)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(topics);
        var strategy = new RelayCacheStrategy(cache);
        Func<Protocol.ResyncSignal, Task> onResync = strategy.ApplyResyncAsync;
        client.Resync += onResync;
        // Started together, so they go to Relay in one SubscribeMany.
        var pending = topics.Select(topic => client.SubscribeAsync(topic, strategy.ApplyAsync)).ToList();
        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch
        {
            client.Resync -= onResync;
            foreach (var subscribed in pending.Where(static t => t.IsCompletedSuccessfully))
            {
                await subscribed.Result.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new Sync(client, onResync, [.. pending.Select(static t => t.Result)]);
    }

    private sealed class Sync(IRelayConnection client, Func<Protocol.ResyncSignal, Task> onResync, List<IAsyncDisposable> subscriptions) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            client.Resync -= onResync;
            foreach (var subscription in subscriptions)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
