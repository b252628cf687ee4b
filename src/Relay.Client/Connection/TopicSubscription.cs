using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>
/// One topic the app holds and the local handlers sharing it. Its state is read and written under
/// <see cref="RelayClient"/>'s state lock; its handlers are a snapshot read without a lock.
/// </summary>
internal sealed class TopicSubscription(string topic, SubscriptionOptions? options)
{
    private static long _lastSequence;
    private volatile Func<RelayEvent, Task>[] _handlers = [];
    private volatile string? _lastOffset;

    /// <summary>The order in which the app asked for the topics; batches keep it, so Relay sees them as requested.</summary>
    public long Sequence { get; } = Interlocked.Increment(ref _lastSequence);

    public string Topic { get; } = topic;

    public SubscriptionOptions? Options { get; } = options;

    /// <summary>A snapshot; replaced, never mutated, so events dispatch without a lock.</summary>
    public Func<RelayEvent, Task>[] Handlers => _handlers;

    public TopicState State { get; set; } = TopicState.Pending;

    /// <summary>The connection on which Relay holds it, when <see cref="State"/> is <see cref="TopicState.Held"/>.</summary>
    public string? HeldOn { get; set; }

    /// <summary>True once Relay has held it on some connection: its next success is a restore, which needs a resync.</summary>
    public bool EverHeld { get; set; }

    /// <summary>
    /// The offset of the last event dispatched for the topic (or the subscription's baseline when none came since): sent
    /// as <c>since</c> when the topic is subscribed again after a full reconnect, so Relay can replay what was missed.
    /// </summary>
    public string? LastOffset
    {
        get => _lastOffset;
        set => _lastOffset = value;
    }

    /// <summary>Transient refusals in a row (<c>rate_limited</c>, <c>upstream_unavailable</c>); drives the backoff.</summary>
    public int Attempts { get; set; }

    /// <summary>Not sent again before this time (a backoff after a transient refusal).</summary>
    public DateTimeOffset RetryAt { get; set; }

    /// <summary>Completes when Relay first holds the topic, or fails when Relay refuses it for good.</summary>
    public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether a flush on <paramref name="connection"/> must send it: pending, or held on an earlier connection (a full reconnect starts with none).</summary>
    public bool NeedsSubscribe(string connection)
        => State == TopicState.Pending || (State == TopicState.Held && HeldOn != connection);

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
