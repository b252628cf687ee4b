using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>
/// A connection to Relay that delivers PocketBase record events to handlers. It reconnects on its own, subscribes
/// its topics again after a reconnect and then raises <see cref="Resync"/>, because events in the gap are lost.
/// Thread-safe.
/// </summary>
/// <example>
/// <code>
/// await using var relay = new RelayClient(new RelayClientOptions
/// {
///     Url = new Uri("http://localhost:5080/"),
///     AccessTokenProvider = _ => ValueTask.FromResult&lt;string?&gt;(pocketBaseToken),
/// });
/// await relay.StartAsync();
/// await using var subscription = await relay.SubscribeAsync("notes/*", e => { Console.WriteLine($"{e.Action} {e.Record}"); return Task.CompletedTask; });
/// </code>
/// </example>
public sealed partial class RelayClient : IAsyncDisposable
{
    private readonly HubConnection _hub;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    // Written under _gate; read without it by event dispatch, which must never wait on _gate: SignalR runs handlers on
    // its receive loop, so an event waiting for a Subscribe in flight would also hold up that Subscribe's completion.
    private readonly ConcurrentDictionary<string, TopicSubscription> _topics = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates a client; nothing connects until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The settings; <see cref="RelayClientOptions.Url"/> is required.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = options.LoggerFactory?.CreateLogger<RelayClient>() ?? NullLogger<RelayClient>.Instance;

        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(options.Url!, RelayProtocol.HubPath), http =>
            {
                http.Transports = options.Transports;
                if (options.AccessTokenProvider is { } provider)
                {
                    http.AccessTokenProvider = () => provider(CancellationToken.None).AsTask();
                }
            })
            .WithAutomaticReconnect(new JitteredRetryPolicy(options.ReconnectBaseDelay, options.ReconnectMaxDelay))
            // A short transport drop is bridged with nothing lost (Relay allows stateful reconnects); only a full
            // reconnect, where messages may have been lost, resubscribes and raises Resync.
            .WithStatefulReconnect();
        if (options.UseMessagePack)
        {
            builder.AddMessagePackProtocol(messagePack => messagePack.SerializerOptions = RelayMessagePack.SerializerOptions);
        }

        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(options.LoggerFactory);
        }

        options.ConfigureConnection?.Invoke(builder);
        _hub = builder.Build();
        _hub.On<RelayEvent>(nameof(IRelayClient.Event), OnEventAsync);
        _hub.On<ResyncSignal>(nameof(IRelayClient.Resync), signal => RaiseResyncAsync(signal));
        _hub.On<AuthExpiredSignal>(nameof(IRelayClient.AuthExpired), signal => AuthExpired?.Invoke(signal) ?? Task.CompletedTask);
        _hub.Reconnecting += error => Reconnecting?.Invoke(error) ?? Task.CompletedTask;
        _hub.Reconnected += _ => OnReconnectedAsync();
        _hub.Closed += error => Closed?.Invoke(error) ?? Task.CompletedTask;
    }

    /// <summary>Events for the listed topics may have been lost (after a reconnect, or when Relay resynced this connection); refetch them.</summary>
    public event Func<ResyncSignal, Task>? Resync;

    /// <summary>
    /// PocketBase no longer accepts the user's token (expired, user deleted, password changed). Relay closes the
    /// connection next and the client does not reconnect: create a new client with a new token.
    /// </summary>
    public event Func<AuthExpiredSignal, Task>? AuthExpired;

    /// <summary>The connection dropped and the client is reconnecting; the argument is the cause, if any.</summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>The connection is back and every topic is subscribed again; <see cref="Resync"/> follows.</summary>
    public event Func<Task>? Reconnected;

    /// <summary>The connection closed for good (the client was stopped or disposed, or Relay refused to take it back).</summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>The connection state.</summary>
    public HubConnectionState State => _hub.State;

    /// <summary>Connects to Relay.</summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <exception cref="HttpRequestException">Relay refused the connection: 401 for an invalid or expired token, 503 when PocketBase could not verify it.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _hub.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="topic"/>. Several handlers of one topic share one
    /// subscription on Relay; disposing the returned object removes the handler, and the last one removes the subscription.
    /// Completes once PocketBase holds the subscription, so every change committed afterwards reaches the handler.
    /// </summary>
    /// <param name="topic"><c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>.</param>
    /// <param name="handler">Called for each event of the topic, one at a time, in order. An exception it throws is logged and does not affect other handlers.</param>
    /// <param name="options">PocketBase subscription options (<c>expand</c>, <c>fields</c>, <c>filter</c>, headers), or <see langword="null"/>. All handlers of a topic share its options.</param>
    /// <param name="cancellationToken">Cancels waiting for Relay.</param>
    /// <returns>Dispose it to unsubscribe the handler.</returns>
    /// <exception cref="RelaySubscriptionException">Relay refused the topic; <see cref="RelaySubscriptionException.Code"/> says why.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected, or the topic is held with different options.</exception>
    public async Task<IAsyncDisposable> SubscribeAsync(string topic, Func<RelayEvent, Task> handler, SubscriptionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_topics.TryGetValue(topic, out var existing))
            {
                if (!SubscriptionOptionsComparer.Equal(existing.Options, options))
                {
                    throw new InvalidOperationException($"'{topic}' is already subscribed with other options; all handlers of a topic share its options.");
                }

                return existing.Add(this, handler);
            }

            if (_hub.State != HubConnectionState.Connected)
            {
                throw new InvalidOperationException($"The client is {_hub.State}; subscribe once StartAsync has completed (topics held before a drop are restored automatically).");
            }

            await InvokeSubscribeAsync(topic, options, cancellationToken).ConfigureAwait(false);
            var subscription = new TopicSubscription(topic, options);
            _topics[topic] = subscription;
            return subscription.Add(this, handler);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Hands Relay a fresh token of the same user (for example after the app refreshed it) without reconnecting. The
    /// token is also what <see cref="RelayClientOptions.AccessTokenProvider"/> should return from now on.
    /// </summary>
    /// <param name="token">A PocketBase auth token of the connected user.</param>
    /// <param name="cancellationToken">Cancels waiting for Relay.</param>
    /// <exception cref="RelaySubscriptionException">Relay refused it: <c>invalid_token</c>, <c>token_user_mismatch</c> or <c>upstream_unavailable</c>.</exception>
    public async Task ReauthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            await _hub.InvokeAsync(nameof(IRelayHub.Reauthenticate), token, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw ToRelayException(ex);
        }
    }

    /// <summary>Closes the connection; handlers receive nothing more.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _hub.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    internal async Task RemoveAsync(TopicSubscription subscription, Func<RelayEvent, Task> handler)
    {
        if (_disposed)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!subscription.Remove(handler) || !_topics.TryRemove(subscription.Topic, out _) || _hub.State != HubConnectionState.Connected)
            {
                return;
            }

            try
            {
                // Send, not Invoke: no wait for the completion, so disposing a subscription from inside a handler (which
                // runs on SignalR's receive loop) cannot deadlock. Relay handles a connection's calls in order.
                await _hub.SendAsync(nameof(IRelayHub.Unsubscribe), subscription.Topic).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HubException or IOException or InvalidOperationException)
            {
                // The connection is going away; a new connection starts with no subscriptions anyway.
                Log.UnsubscribeFailed(_logger, subscription.Topic, ex);
            }
        }
        finally
        {
            _gate.Release();
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
        var code = RelayErrorCodes.FromMessage(ex.Message) ?? "unknown";
        var start = ex.Message.IndexOf(code + ": ", StringComparison.Ordinal);
        return new RelaySubscriptionException(code, start < 0 ? ex.Message : ex.Message[start..], ex);
    }

    private async Task OnEventAsync(RelayEvent relayEvent)
    {
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

    private async Task OnReconnectedAsync()
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
                catch (Exception ex) when (ex is RelaySubscriptionException or IOException or InvalidOperationException)
                {
                    Log.ResubscribeFailed(_logger, subscription.Topic, ex);
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        if (Reconnected is { } reconnected)
        {
            await reconnected().ConfigureAwait(false);
        }

        if (restored.Count > 0)
        {
            await RaiseResyncAsync(new ResyncSignal { Topics = restored, Reason = ResyncReasons.Reconnected }).ConfigureAwait(false);
        }
    }

    private async Task RaiseResyncAsync(ResyncSignal signal)
    {
        if (Resync is not { } resync)
        {
            return;
        }

        try
        {
            await resync(signal).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(_logger, string.Join(',', signal.Topics), "resync", ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "A handler for {Topic} failed on {Action}.")]
        public static partial void HandlerFailed(ILogger logger, string topic, string action, Exception exception);

        [LoggerMessage(2, LogLevel.Warning, "Subscribing {Topic} again after a reconnect failed; it receives nothing until subscribed anew.")]
        public static partial void ResubscribeFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Unsubscribing {Topic} failed.")]
        public static partial void UnsubscribeFailed(ILogger logger, string topic, Exception exception);
    }
}
