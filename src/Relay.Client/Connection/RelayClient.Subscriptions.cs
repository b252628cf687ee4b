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

    // Under _gate: the connection on which SubscribeMany turned out unknown (a version-1 Relay), and the batch size
    // Relay accepts on the current connection (halved when it refuses a long list as invalid_request).
    private string? _version1Connection;
    private int _batchLimit = MaxBatch;
    private string? _batchLimitConnection;

    // Counts connections made (StartAsync, full reconnects; a stateful reconnect keeps its connection).
    private long _connections;

    /// <summary>
    /// Names the current connection while connected: a full reconnect is a new connection, which holds no topic. SignalR's
    /// connection id when there is one (there is none when negotiation is skipped), otherwise the count of connections made.
    /// </summary>
    private string? CurrentConnection => _hub.State != HubConnectionState.Connected
        ? null
        : _hub.ConnectionId ?? $"connection-{Interlocked.Read(ref _connections)}";

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

            sent = subscription.State == TopicState.InFlight || (subscription.State == TopicState.Held && subscription.HeldOn == CurrentConnection);
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

    /// <summary>
    /// Sends every held topic the current connection does not hold yet and whose backoff has passed, in calls of up to
    /// <see cref="MaxBatch"/>. Raises no callback: the caller passes the outcome to <see cref="RaiseOutcomeAsync"/>.
    /// </summary>
    /// <returns>
    /// The topics held before on an earlier connection and now held again without Relay recovering what they missed
    /// (events for them may have been lost), and the topics refused for good.
    /// </returns>
    private async Task<FlushOutcome> FlushAsync()
    {
        List<string> restored = [];
        List<RelaySubscriptionException> failed = [];
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            while (Volatile.Read(ref _disposed) == 0 && CurrentConnection is { } connection)
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

        return new FlushOutcome(restored, failed);
    }

    /// <summary>Raises <see cref="SubscriptionFailed"/> for the refused topics, then <see cref="Resync"/> for the restored ones.</summary>
    private async Task RaiseOutcomeAsync(FlushOutcome outcome)
    {
        foreach (var failure in outcome.Failed)
        {
            await RaiseAsync(SubscriptionFailed, failure, nameof(SubscriptionFailed)).ConfigureAwait(false);
        }

        await RaiseRestoredResyncAsync(outcome.Restored).ConfigureAwait(false);
    }

    private sealed record FlushOutcome(List<string> Restored, List<RelaySubscriptionException> Failed);

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
                    if (subscription.EverHeld && !result.Recovered)
                    {
                        // Relay's history did not cover the time away: events may be lost, so the app refetches.
                        restored.Add(subscription.Topic);
                    }

                    if (!result.Recovered || subscription.LastOffset is null)
                    {
                        // A new baseline: the old offset (if any) named a history that no longer covers this topic. A
                        // recovered topic keeps the offsets of its replayed events, which may be newer than this.
                        subscription.LastOffset = result.Offset;
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
}
