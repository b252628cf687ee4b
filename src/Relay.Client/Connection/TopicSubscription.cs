using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>One topic held on Relay and the local handlers sharing it. Mutated under <see cref="RelayClient"/>'s gate.</summary>
internal sealed class TopicSubscription(string topic, SubscriptionOptions? options)
{
    private volatile Func<RelayEvent, Task>[] _handlers = [];

    public string Topic { get; } = topic;

    public SubscriptionOptions? Options { get; } = options;

    /// <summary>A snapshot; replaced, never mutated, so events dispatch without a lock.</summary>
    public Func<RelayEvent, Task>[] Handlers => _handlers;

    public IAsyncDisposable Add(RelayClient client, Func<RelayEvent, Task> handler)
    {
        _handlers = [.. _handlers, handler];
        return new Registration(client, this, handler);
    }

    /// <returns>True when the last handler left.</returns>
    public bool Remove(Func<RelayEvent, Task> handler)
    {
        var index = Array.IndexOf(_handlers, handler);
        if (index >= 0)
        {
            _handlers = [.. _handlers[..index], .. _handlers[(index + 1)..]];
        }

        return _handlers.Length == 0;
    }

    private sealed class Registration(RelayClient client, TopicSubscription subscription, Func<RelayEvent, Task> handler) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await client.RemoveAsync(subscription, handler).ConfigureAwait(false);
            }
        }
    }
}
