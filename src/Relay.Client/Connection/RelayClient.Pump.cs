using Microsoft.AspNetCore.SignalR.Client;

namespace Relay.Client;

/// <summary>
/// The pump: sends new topics after the batch delay (so topics requested together go out together) and topics refused
/// for now once their backoff has passed. One runs at a time; it stops when nothing waits.
/// </summary>
public sealed partial class RelayClient
{
    // Under _state.
    private bool _pumpRunning;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Only the pump touches it: the callbacks of its flushes, raised in order.
    private Task _pumpCallbacks = Task.CompletedTask;

    /// <summary>Starts the pump that sends pending topics, or wakes it if it is waiting for a retry.</summary>
    private void SchedulePump()
    {
        lock (_state)
        {
            if (_pumpRunning)
            {
                _wake.TrySetResult();
                return;
            }

            _pumpRunning = true;
        }

        _ = RunPumpAsync();
    }

    private async Task RunPumpAsync()
    {
        try
        {
            while (true)
            {
                // Subscriptions requested together go out together: a page mounting 40 views adds its topics first.
                await Task.Delay(_batchDelay, _timeProvider, _disposing.Token).ConfigureAwait(false);
                TaskCompletionSource wake;
                lock (_state)
                {
                    wake = _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                var outcome = await FlushAsync().ConfigureAwait(false);
                // Not awaited: a callback may wait for a subscription only this pump can send.
                _pumpCallbacks = RaiseAfterAsync(_pumpCallbacks, outcome);
                var next = NextRetryDelay();
                lock (_state)
                {
                    if (next is null && !wake.Task.IsCompleted)
                    {
                        // Nothing waits for a retry; a new topic starts the pump again, a new connection flushes itself.
                        _pumpRunning = false;
                        return;
                    }
                }

                if (next is { } delay)
                {
                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
                    await Task.WhenAny(wake.Task, Task.Delay(delay, _timeProvider, timer.Token)).ConfigureAwait(false);
                    await timer.CancelAsync().ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex)
        {
            Log.PumpFailed(_logger, ex);
            lock (_state)
            {
                _pumpRunning = false;
            }
        }
    }

    private async Task RaiseAfterAsync(Task previous, FlushOutcome outcome)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await RaiseOutcomeAsync(outcome).ConfigureAwait(false);
    }

    /// <summary>The time until the earliest topic waiting for a retry may be sent, or <see langword="null"/> when none waits (or the client is not connected: the next connection flushes).</summary>
    private TimeSpan? NextRetryDelay()
    {
        if (_hub.State != HubConnectionState.Connected)
        {
            return null;
        }

        lock (_state)
        {
            var pending = _topics.Values.Where(static s => s.State == TopicState.Pending).Select(static s => s.RetryAt).ToList();
            return pending.Count == 0 ? null : TimeSpan.FromTicks(Math.Max(0, (pending.Min() - _timeProvider.GetUtcNow()).Ticks));
        }
    }
}
