using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>The hub calls behind subscriptions, and turning refusals into error codes.</summary>
public sealed partial class RelayClient
{
    /// <summary>One <c>SubscribeMany</c>, or one <c>Subscribe</c> per topic against a version-1 Relay. A refusal of the whole call is every entry's refusal.</summary>
    private async Task<SubscribeResult[]> SendAsync(List<TopicSubscription> batch, string connection)
    {
        if (_version1Connection != connection)
        {
            try
            {
                var requests = batch.Select(static s => new SubscribeRequest { Topic = s.Topic, Options = s.Options, Since = s.EverHeld ? s.LastOffset : null }).ToArray();
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
