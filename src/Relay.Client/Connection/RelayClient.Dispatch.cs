using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>Delivering events and signals to the user's callbacks, and the connection's lifecycle.</summary>
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
            await DispatchAsync(relayEvent).ConfigureAwait(false);
        }
        finally
        {
            _dispatch.Release();
        }
    }

    private async Task OnEventsAsync(RelayEvent[] relayEvents)
    {
        // One batch, one turn: nothing (another batch, a Resync) can run between its events.
        await _dispatch.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var relayEvent in relayEvents ?? [])
            {
                if (relayEvent is not null)
                {
                    await DispatchAsync(relayEvent).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _dispatch.Release();
        }
    }

    // Called under _dispatch.
    private async Task DispatchAsync(RelayEvent relayEvent)
    {
        // Looked up under _dispatch, so a handler removed by an earlier handler is not called.
        if (!_topics.TryGetValue(relayEvent.Topic, out var subscription))
        {
            return;
        }

        if (relayEvent.Offset is { } offset)
        {
            subscription.LastOffset = offset;
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

    private Task OnReconnectingAsync(Exception? error)
    {
        RaiseStateChanged(HubConnectionState.Reconnecting);
        return RaiseAsync(Reconnecting, error, nameof(Reconnecting));
    }

    private async Task OnReconnectedAsync()
    {
        Interlocked.Increment(ref _connections);
        RaiseStateChanged(HubConnectionState.Connected);

        await FlushAndScheduleRetriesAsync(raiseReconnected: true).ConfigureAwait(false);
    }

    /// <summary>
    /// On a new connection, which holds nothing: every topic goes out in one <c>SubscribeMany</c>, then the ones Relay
    /// held before are resynced; the ones refused for now are left to the pump, which resyncs them once they are held.
    /// </summary>
    private async Task FlushAndScheduleRetriesAsync(bool raiseReconnected = false)
    {
        var outcome = await FlushAsync().ConfigureAwait(false);
        if (raiseReconnected && Reconnected is { } reconnected)
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

        // Scheduled first: a callback may wait for a topic the pump retries.
        if (NextRetryDelay() is not null)
        {
            SchedulePump();
        }

        await RaiseOutcomeAsync(outcome).ConfigureAwait(false);
    }

    private Task OnClosedAsync(Exception? error)
    {
        RaiseStateChanged(HubConnectionState.Disconnected);
        return RaiseAsync(Closed, error, nameof(Closed));
    }

    private Task RaiseRestoredResyncAsync(List<string> restored) => restored.Count == 0
        ? Task.CompletedTask
        : RaiseResyncAsync(new ResyncSignal { Topics = restored, Reason = ResyncReasons.Reconnected });

    private void RaiseStateChanged(HubConnectionState state)
    {
        if (StateChanged is not { } callbacks)
        {
            return;
        }

        foreach (var callback in callbacks.GetInvocationList().Cast<Action<HubConnectionState>>())
        {
            try
            {
                callback(state);
            }
            catch (Exception ex)
            {
                Log.CallbackFailed(_logger, nameof(StateChanged), ex);
            }
        }
    }

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
