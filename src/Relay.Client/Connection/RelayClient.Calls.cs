using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>The hub calls behind subscriptions: Subscribe, Unsubscribe, and turning refusals into <see cref="RelaySubscriptionException"/>.</summary>
public sealed partial class RelayClient
{
    internal async Task RemoveAsync(TopicSubscription subscription, Func<RelayEvent, Task> handler)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            // Only this subscription object: a topic unsubscribed and subscribed anew has a new one.
            if (subscription.Remove(handler) && _topics.TryRemove(KeyValuePair.Create(subscription.Topic, subscription)))
            {
                await TrySendUnsubscribeAsync(subscription.Topic).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task TrySendUnsubscribeAsync(string topic)
    {
        if (_hub.State != HubConnectionState.Connected)
        {
            // A new connection starts with no subscriptions, and the restore only takes held topics.
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

    private async Task InvokeSubscribeAsync(string topic, SubscriptionOptions? options, CancellationToken cancellationToken)
    {
        try
        {
            await _hub.InvokeAsync(nameof(IRelayHub.Subscribe), topic, options, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw ToRelayException(ex);
        }
    }

    private static RelaySubscriptionException ToRelayException(HubException ex)
    {
        var message = ex.Message ?? string.Empty;
        var code = RelayErrorCodes.FromMessage(message) ?? RelaySubscriptionException.UnknownCode;
        var start = message.IndexOf(code + ": ", StringComparison.Ordinal);
        return new RelaySubscriptionException(code, start < 0 ? message : message[start..], ex);
    }
}
