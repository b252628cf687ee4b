using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>
/// Getting the held topics onto the connection: batching them into <c>SubscribeMany</c> calls, retrying what may
/// pass later, reporting what never will, and unsubscribing what the app released.
/// </summary>
public sealed partial class RelayClient
{
    // Relay refuses a longer SubscribeMany (Relay:MaxSubscriptionsPerConnection, 100 by default).
    private const int MaxBatch = 100;

    // Serializes the calls that change what Relay holds for this connection (SubscribeMany, Subscribe, Unsubscribe), so
    // an Unsubscribe never overtakes the subscribe it undoes. Never taken by event dispatch.
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Under _state.
    private bool _pumpRunning;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Under _gate: the connection on which SubscribeMany turned out unknown (a version-1 Relay), and the batch size
    // Relay accepts on the current connection (halved when it refuses a long list as invalid_request).
    private string? _version1Connection;
    private int _batchLimit = MaxBatch;
    private string? _batchLimitConnection;

    internal async Task RemoveAsync(TopicSubscription subscription, Func<RelayEvent, Task> handler)
    {
        bool sent;
        lock (_state)
        {
            // Only this subscription object: a topic unsubscribed and subscribed anew has a new one.
            if (!subscription.Remove(handler) || !_topics.TryRemove(KeyValuePair.Create(subscription.Topic, subscription)))
            {
                return;
            }

            sent = subscription.State == TopicState.InFlight || (subscription.State == TopicState.Held && subscription.HeldOn == _hub.ConnectionId);
            subscription.State = TopicState.Gone;
        }

        subscription.Ready.TrySetCanceled();
        if (!sent || Volatile.Read(ref _disposed) == 1)
        {
            // Never sent on this connection: a new connection starts with no subscriptions, and flushes skip gone topics.
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await TrySendUnsubscribeAsync(subscription.Topic).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

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

                var restored = await FlushAsync().ConfigureAwait(false);
                await RaiseRestoredResyncAsync(restored).ConfigureAwait(false);
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

    /// <summary>
    /// Sends every held topic the current connection does not hold yet and whose backoff has passed, in calls of up to
    /// <see cref="MaxBatch"/>; raises <see cref="SubscriptionFailed"/> for the topics refused for good.
    /// </summary>
    /// <returns>The topics held before on an earlier connection and now held again: events for them may have been lost.</returns>
    private async Task<List<string>> FlushAsync()
    {
        List<string> restored = [];
        List<RelaySubscriptionException> failed = [];
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            while (Volatile.Read(ref _disposed) == 0 && _hub.State == HubConnectionState.Connected && _hub.ConnectionId is { } connection)
            {
                var now = _timeProvider.GetUtcNow();
                List<TopicSubscription> batch;
                lock (_state)
                {
                    batch = [.. _topics.Values.Where(s => s.NeedsSubscribe(connection) && s.RetryAt <= now).OrderBy(static s => s.Sequence).Take(BatchLimit(connection))];
                    foreach (var subscription in batch)
                    {
                        subscription.State = TopicState.InFlight;
                    }
                }

                if (batch.Count == 0)
                {
                    break;
                }

                SubscribeResult[] results;
                try
                {
                    results = await SendAsync(batch, connection).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not HubException)
                {
                    // The connection was lost under the call; the next one sends these again.
                    Log.RestoreInterrupted(_logger, ex);
                    Requeue(batch);
                    break;
                }

                if (results.Length == batch.Count && Array.TrueForAll(results, static r => r.Error == RelayErrorCodes.InvalidRequest) && batch.Count > 1)
                {
                    // The whole list was refused as too long (Relay:MaxSubscriptionsPerConnection set below 100): send halves.
                    _batchLimit = Math.Max(1, batch.Count / 2);
                    Requeue(batch);
                    continue;
                }

                Apply(batch, results, connection, restored, failed);
            }
        }
        finally
        {
            _gate.Release();
        }

        foreach (var failure in failed)
        {
            await RaiseAsync(SubscriptionFailed, failure, nameof(SubscriptionFailed)).ConfigureAwait(false);
        }

        return restored;
    }

    private int BatchLimit(string connection)
    {
        if (_batchLimitConnection != connection)
        {
            _batchLimitConnection = connection;
            _batchLimit = MaxBatch;
        }

        return _batchLimit;
    }

    private void Requeue(List<TopicSubscription> batch)
    {
        lock (_state)
        {
            foreach (var subscription in batch.Where(static s => s.State == TopicState.InFlight))
            {
                subscription.State = TopicState.Pending;
            }
        }
    }

    /// <summary>One <c>SubscribeMany</c>, or one <c>Subscribe</c> per topic against a version-1 Relay. A refusal of the whole call is every entry's refusal.</summary>
    private async Task<SubscribeResult[]> SendAsync(List<TopicSubscription> batch, string connection)
    {
        if (_version1Connection != connection)
        {
            try
            {
                var requests = batch.Select(static s => new SubscribeRequest { Topic = s.Topic, Options = s.Options }).ToArray();
                var results = await _hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), requests, CancellationToken.None).ConfigureAwait(false);
                return results?.Length == batch.Count
                    ? results
                    : [.. batch.Select(s => new SubscribeResult { Topic = s.Topic, Error = RelaySubscriptionException.UnknownCode, Message = "Relay answered SubscribeMany with a result count that does not match the request." })];
            }
            catch (HubException ex) when (IsUnknownMethod(ex))
            {
                Log.Version1Relay(_logger);
                _version1Connection = connection;
            }
            catch (HubException ex)
            {
                var refusal = ToRelayException(ex, topic: null);
                return [.. batch.Select(s => new SubscribeResult { Topic = s.Topic, Error = refusal.Code, Message = refusal.Message })];
            }
        }

        var oneByOne = new SubscribeResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var topic = batch[i].Topic;
            try
            {
                await _hub.InvokeAsync(nameof(IRelayHub.Subscribe), topic, batch[i].Options, CancellationToken.None).ConfigureAwait(false);
                oneByOne[i] = new SubscribeResult { Topic = topic };
            }
            catch (HubException ex)
            {
                var refusal = ToRelayException(ex, topic);
                oneByOne[i] = new SubscribeResult { Topic = topic, Error = refusal.Code, Message = refusal.Message };
                if (refusal.Code == RelayErrorCodes.RateLimited)
                {
                    // Every further call this second would be refused too: the rest waits for the retry with this one.
                    for (var rest = i + 1; rest < batch.Count; rest++)
                    {
                        oneByOne[rest] = new SubscribeResult { Topic = batch[rest].Topic, Error = refusal.Code, Message = refusal.Message };
                    }

                    break;
                }
            }
        }

        return oneByOne;
    }

    private void Apply(List<TopicSubscription> batch, SubscribeResult[] results, string connection, List<string> restored, List<RelaySubscriptionException> failed)
    {
        List<TopicSubscription> ready = [];
        List<(TopicSubscription Subscription, RelaySubscriptionException Error)> refused = [];
        var retrying = 0;
        string? retryCode = null;
        var now = _timeProvider.GetUtcNow();
        lock (_state)
        {
            // One delay for the whole batch, so the topics refused together are retried together, in one call.
            var attempts = batch.Where((s, i) => IsTransient(results[i].Error)).Select(static s => s.Attempts).DefaultIfEmpty().Max();
            var delay = _retry.NextRetryDelay(new RetryContext { PreviousRetryCount = attempts })!.Value;
            for (var i = 0; i < batch.Count; i++)
            {
                var subscription = batch[i];
                var result = results[i];
                if (subscription.State != TopicState.InFlight)
                {
                    // Released while the call was in flight; its Unsubscribe waits behind this call.
                    continue;
                }

                if (result.IsSuccess)
                {
                    subscription.State = TopicState.Held;
                    subscription.HeldOn = connection;
                    subscription.Attempts = 0;
                    if (subscription.EverHeld)
                    {
                        restored.Add(subscription.Topic);
                    }

                    subscription.EverHeld = true;
                    ready.Add(subscription);
                }
                else if (IsTransient(result.Error))
                {
                    subscription.State = TopicState.Pending;
                    subscription.Attempts++;
                    subscription.RetryAt = now + delay;
                    retrying++;
                    retryCode = result.Error;
                }
                else
                {
                    subscription.State = TopicState.Gone;
                    _topics.TryRemove(KeyValuePair.Create(subscription.Topic, subscription));
                    var message = string.IsNullOrEmpty(result.Message) ? $"{result.Error}: Relay refused '{subscription.Topic}'." : result.Message;
                    refused.Add((subscription, new RelaySubscriptionException(result.Error!, message) { Topic = subscription.Topic }));
                }
            }

            if (retrying > 0)
            {
                Log.SubscribeRetrying(_logger, retrying, retryCode!, delay);
            }
        }

        foreach (var subscription in ready)
        {
            subscription.Ready.TrySetResult();
        }

        foreach (var (subscription, error) in refused)
        {
            Log.SubscriptionRefused(_logger, subscription.Topic, error.Code);
            subscription.Ready.TrySetException(error);
            failed.Add(error);
        }
    }

    private async Task TrySendUnsubscribeAsync(string topic)
    {
        if (_hub.State != HubConnectionState.Connected)
        {
            // A new connection starts with no subscriptions, and flushes only send held topics.
            return;
        }

        try
        {
            // Send, not Invoke: nothing to wait for, and Relay handles a connection's calls in order.
            await _hub.SendAsync(nameof(IRelayHub.Unsubscribe), topic).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HubException or IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is going away; a new connection starts with no subscriptions anyway.
            Log.UnsubscribeFailed(_logger, topic, ex);
        }
    }

    /// <summary>Refusals that may pass on their own: retried with backoff, never dropped.</summary>
    private static bool IsTransient(string? code) => code is RelayErrorCodes.RateLimited or RelayErrorCodes.UpstreamUnavailable;

    /// <summary>A version-1 Relay does not know <c>SubscribeMany</c>: SignalR refuses the call before it reaches the hub.</summary>
    private static bool IsUnknownMethod(HubException ex)
        => ex.Message is { } message && (message.Contains("Method does not exist", StringComparison.Ordinal) || message.Contains("Unknown hub method", StringComparison.Ordinal));

    private static RelaySubscriptionException ToRelayException(HubException ex, string? topic)
    {
        var message = ex.Message ?? string.Empty;
        var code = RelayErrorCodes.FromMessage(message) ?? RelaySubscriptionException.UnknownCode;
        var start = message.IndexOf(code + ": ", StringComparison.Ordinal);
        return new RelaySubscriptionException(code, start < 0 ? message : message[start..], ex) { Topic = topic };
    }
}
