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

    // Serializes changes to the set of topics held on Relay: a first subscribe, a last unsubscribe, the restore after a
    // reconnect. Never taken by event dispatch, so a handler may subscribe or unsubscribe without deadlocking.
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Written under _gate; read without it by event dispatch.
    private readonly ConcurrentDictionary<string, TopicSubscription> _topics = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>Creates a client; nothing connects until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The settings; <see cref="RelayClientOptions.Url"/> is required. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names the option and its value.</exception>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = options.LoggerFactory?.CreateLogger<RelayClient>() ?? NullLogger<RelayClient>.Instance;

        var builder = new HubConnectionBuilder()
            .WithUrl(options.GetHubUrl(), http =>
            {
                http.Transports = options.Transports;
                if (options.AccessTokenProvider is { } provider)
                {
                    // SignalR's .NET client sends it as "Authorization: Bearer", which Relay accepts like access_token
                    // and which keeps the token out of URLs and proxy logs.
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
        _hub.On<ResyncSignal>(nameof(IRelayClient.Resync), RaiseResyncAsync);
        _hub.On<AuthExpiredSignal>(nameof(IRelayClient.AuthExpired), signal => RaiseAsync(AuthExpired, signal, nameof(AuthExpired)));
        _hub.Reconnecting += error => RaiseAsync(Reconnecting, error, nameof(Reconnecting));
        _hub.Reconnected += _ => OnReconnectedAsync();
        _hub.Closed += error => RaiseAsync(Closed, error, nameof(Closed));
    }

    /// <summary>
    /// Events for <see cref="ResyncSignal.Topics"/> may have been lost; refetch what you hold for them.
    /// <see cref="ResyncSignal.Reason"/> is <c>reconnected</c> when this client restored its topics on a new connection
    /// (raised once they are all subscribed again), or the reason Relay sent (<c>upstream_reconnected</c>, <c>overflow</c>).
    /// Runs one at a time with the event handlers, in arrival order; an exception it throws is logged.
    /// </summary>
    public event Func<ResyncSignal, Task>? Resync;

    /// <summary>
    /// PocketBase no longer accepts the user's token (expired, user deleted, password changed). Relay closes the
    /// connection next and the client does not reconnect: start a new client with a new token. An exception it throws is logged.
    /// </summary>
    public event Func<AuthExpiredSignal, Task>? AuthExpired;

    /// <summary>
    /// The connection dropped and the client is reconnecting; the argument is the cause, if any. A short transport drop
    /// bridged by a stateful reconnect raises nothing. An exception it throws is logged.
    /// </summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>The connection is back and every held topic is subscribed again; <see cref="Resync"/> follows. An exception it throws is logged.</summary>
    public event Func<Task>? Reconnected;

    /// <summary>
    /// The connection closed for good: the client was disposed, Relay closed it without allowing a reconnect (for
    /// example after <see cref="AuthExpired"/>), or a finite reconnect policy set through
    /// <see cref="RelayClientOptions.ConfigureConnection"/> gave up. The argument is the cause, if any. Subscriptions stay
    /// held: <see cref="StartAsync"/> subscribes them again. An exception it throws is logged.
    /// </summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>The connection state: <c>Disconnected</c> until <see cref="StartAsync"/>, then <c>Connecting</c>, <c>Connected</c> or <c>Reconnecting</c>.</summary>
    public HubConnectionState State => _hub.State;

    /// <summary>
    /// Connects to Relay. Makes one attempt; automatic reconnects only cover connections that were up. When topics are
    /// still held from before a final close (see <see cref="Closed"/>), subscribes them again and raises <see cref="Resync"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <exception cref="HttpRequestException">Relay refused or could not be reached: <see cref="HttpRequestException.StatusCode"/> is 401 for an invalid or expired token, 503 when PocketBase could not verify it (retry later).</exception>
    /// <exception cref="InvalidOperationException">The client is not disconnected (already started).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _hub.StartAsync(cancellationToken).ConfigureAwait(false);
        if (!_topics.IsEmpty && await RestoreAsync().ConfigureAwait(false) is { } restored)
        {
            await RaiseRestoredResyncAsync(restored).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="topic"/>. Several handlers of one topic share one
    /// subscription on Relay; disposing the returned object removes the handler, and the last one removes the subscription.
    /// Completes once PocketBase holds the subscription, so every change committed afterwards reaches the handler (the
    /// handler may already be called before this completes, for a change committed in the meantime).
    /// </summary>
    /// <param name="topic"><c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>; Relay validates it.</param>
    /// <param name="handler">
    /// Called for each event of the topic. All handlers of the client and <see cref="Resync"/> run one at a time, in the
    /// order Relay delivered the events; an exception is logged and affects nothing else.
    /// </param>
    /// <param name="options">PocketBase subscription options (<c>expand</c>, <c>fields</c>, <c>filter</c>, headers). Default: none. All handlers of a topic share its options.</param>
    /// <param name="cancellationToken">Cancels waiting for Relay; the subscription is then not made.</param>
    /// <returns>Dispose it to remove the handler; idempotent.</returns>
    /// <exception cref="ArgumentException"><paramref name="topic"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="RelaySubscriptionException">Relay refused the topic; <see cref="RelaySubscriptionException.Code"/> says why. Nothing is held.</exception>
    /// <exception cref="InvalidOperationException">
    /// The topic is not held yet and the client is not connected (it does not queue: subscribe after <see cref="StartAsync"/>;
    /// topics held before a drop are restored automatically), or the topic is held with different options.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<IAsyncDisposable> SubscribeAsync(string topic, Func<RelayEvent, Task> handler, SubscriptionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfDisposed();

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

            // Registered before the call: SignalR dispatches events and call completions on separate loops, so an event
            // Relay sent right after accepting the subscription can be dispatched before this call returns.
            var subscription = new TopicSubscription(topic, options);
            var registration = subscription.Add(this, handler);
            _topics[topic] = subscription;
            try
            {
                await InvokeSubscribeAsync(topic, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _topics.TryRemove(KeyValuePair.Create(topic, subscription));
                if (ex is not RelaySubscriptionException)
                {
                    // Cancelled or cut off: Relay may still have made the subscription. It handles a connection's calls
                    // in order, so this undoes it; on a lost connection there is nothing to undo.
                    await TrySendUnsubscribeAsync(topic).ConfigureAwait(false);
                }

                throw;
            }

            return registration;
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
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="RelaySubscriptionException">Relay refused it: <c>invalid_token</c>, <c>token_user_mismatch</c> or <c>upstream_unavailable</c>.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task ReauthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ThrowIfDisposed();
        try
        {
            await _hub.InvokeAsync(nameof(IRelayHub.Reauthenticate), token, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw ToRelayException(ex);
        }
    }

    /// <summary>Closes the connection (raising <see cref="Closed"/>); handlers receive nothing more. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // The semaphores are not disposed: a subscription disposed concurrently may still be waiting on _gate, and
        // SemaphoreSlim holds no unmanaged resource unless its wait handle is used.
        await _hub.DisposeAsync().ConfigureAwait(false);
        _topics.Clear();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
