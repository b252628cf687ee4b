using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>Delivering events and signals to the user's callbacks, and restoring topics on a new connection.</summary>
public sealed partial class RelayClient
{
    // One user callback carrying data (event handler or Resync) at a time, in arrival order. SignalR already runs a
    // connection's invocations one by one, but starts a new loop per connection, and the client's own Resync comes from
    // the Reconnected event, outside that loop.
    private readonly SemaphoreSlim _dispatch = new(1, 1);

    private async Task OnEventAsync(RelayEvent relayEvent)
    {
        await _dispatch.WaitAsync().ConfigureAwait(false);
        try
        {
            // Looked up under _dispatch, so a handler removed by an earlier handler is not called.
            if (!_topics.TryGetValue(relayEvent.Topic, out var subscription))
            {
                return;
            }

            foreach (var handler in subscription.Handlers)
            {
                try
                {
                    await handler(relayEvent).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.HandlerFailed(_logger, relayEvent.Topic, relayEvent.Action, ex);
                }
            }
        }
        finally
        {
            _dispatch.Release();
        }
    }

    private async Task RaiseResyncAsync(ResyncSignal signal)
    {
        await _dispatch.WaitAsync().ConfigureAwait(false);
        try
        {
            await RaiseAsync(Resync, signal, nameof(Resync)).ConfigureAwait(false);
        }
        finally
        {
            _dispatch.Release();
        }
    }

    private async Task OnReconnectedAsync()
    {
        if (await RestoreAsync().ConfigureAwait(false) is not { } restored)
        {
            return;
        }

        if (Reconnected is { } reconnected)
        {
            foreach (var callback in reconnected.GetInvocationList().Cast<Func<Task>>())
            {
                try
                {
                    await callback().ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.CallbackFailed(_logger, nameof(Reconnected), ex);
                }
            }
        }

        await RaiseRestoredResyncAsync(restored).ConfigureAwait(false);
    }

    /// <summary>Subscribes every held topic on the current connection.</summary>
    /// <returns>The topics Relay accepted, or <see langword="null"/> when the connection was lost meanwhile (the next <c>Reconnected</c> restores them).</returns>
    private async Task<List<string>?> RestoreAsync()
    {
        List<string> restored = [];
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var subscription in _topics.Values)
            {
                try
                {
                    await InvokeSubscribeAsync(subscription.Topic, subscription.Options, CancellationToken.None).ConfigureAwait(false);
                    restored.Add(subscription.Topic);
                }
                catch (RelaySubscriptionException ex)
                {
                    // Kept: its handlers stay registered and the next connection tries again.
                    Log.ResubscribeFailed(_logger, subscription.Topic, ex.Code, ex);
                }
                catch (Exception ex)
                {
                    Log.RestoreInterrupted(_logger, ex);
                    return null;
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        return restored;
    }

    private Task RaiseRestoredResyncAsync(List<string> restored) => restored.Count == 0
        ? Task.CompletedTask
        : RaiseResyncAsync(new ResyncSignal { Topics = restored, Reason = ResyncReasons.Reconnected });

    private async Task RaiseAsync<T>(Func<T, Task>? callbacks, T argument, string name)
    {
        if (callbacks is null)
        {
            return;
        }

        // Each subscriber awaited and isolated: invoking a multicast Func<T, Task> directly would await only the last one.
        foreach (var callback in callbacks.GetInvocationList().Cast<Func<T, Task>>())
        {
            try
            {
                await callback(argument).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.CallbackFailed(_logger, name, ex);
            }
        }
    }
}
