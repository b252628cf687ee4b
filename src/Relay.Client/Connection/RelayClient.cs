using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>
/// A connection to Relay that delivers PocketBase record events to handlers. Subscriptions requested together go out
/// as one <c>SubscribeMany</c> call; refusals that may pass (<c>rate_limited</c>, <c>upstream_unavailable</c>) are
/// retried with backoff, refusals for good raise <see cref="SubscriptionFailed"/>. It reconnects on its own, subscribes
/// its topics again after a reconnect, each with the offset of the last event it saw, so Relay replays what was missed
/// from its history; it raises <see cref="Resync"/> only for the topics Relay could not recover.
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
public sealed partial class RelayClient : IRelayConnection
{
    private readonly HubConnection _hub;
    private readonly ILogger _logger;
    private readonly JitteredRetryPolicy _retry;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _batchDelay;

    // Guards the topics' state (TopicSubscription.State and friends) and changes to _topics. Never held across an await.
    private readonly Lock _state = new();

    // Written under _state; read without it by event dispatch.
    private readonly ConcurrentDictionary<string, TopicSubscription> _topics = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;
    private int _starting;

    /// <summary>Creates a client; nothing connects until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The settings; <see cref="RelayClientOptions.Url"/> is required. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names the option and its value.</exception>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = options.LoggerFactory?.CreateLogger<RelayClient>() ?? NullLogger<RelayClient>.Instance;
        _retry = new JitteredRetryPolicy(options.ReconnectBaseDelay, options.ReconnectMaxDelay);
        _timeProvider = options.TimeProvider;
        _batchDelay = options.SubscribeBatchDelay;

        var builder = new HubConnectionBuilder()
            .WithUrl(options.GetHubUrl(), http =>
            {
                http.Transports = options.Transports;
                // WebSockets alone needs no negotiate request, so a load balancer without sticky sessions can send the
                // connection to any Relay instance (negotiate and connect could otherwise land on different ones).
                http.SkipNegotiation = options.Transports == HttpTransportType.WebSockets;
                if (options.AccessTokenProvider is { } provider)
                {
                    // SignalR's .NET client sends it as "Authorization: Bearer", which Relay accepts like access_token
                    // and which keeps the token out of URLs and proxy logs.
                    http.AccessTokenProvider = () => provider(CancellationToken.None).AsTask();
                }
            })
            .WithAutomaticReconnect(_retry)
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
        _hub.On<RelayEvent[]>(nameof(IRelayClient.Events), OnEventsAsync);
        _hub.On<ResyncSignal>(nameof(IRelayClient.Resync), RaiseResyncAsync);
        _hub.On<AuthExpiredSignal>(nameof(IRelayClient.AuthExpired), signal => RaiseAsync(AuthExpired, signal, nameof(AuthExpired)));
        _hub.Reconnecting += OnReconnectingAsync;
        _hub.Reconnected += _ => OnReconnectedAsync();
        _hub.Closed += OnClosedAsync;
    }

    /// <inheritdoc />
    public event Func<ResyncSignal, Task>? Resync;

    /// <inheritdoc />
    public event Func<RelaySubscriptionException, Task>? SubscriptionFailed;

    /// <inheritdoc />
    public event Func<AuthExpiredSignal, Task>? AuthExpired;

    /// <inheritdoc />
    public event Func<Exception?, Task>? Reconnecting;

    /// <inheritdoc />
    public event Func<Task>? Reconnected;

    /// <inheritdoc />
    public event Func<Exception?, Task>? Closed;

    /// <inheritdoc />
    public event Action<HubConnectionState>? StateChanged;

    /// <inheritdoc />
    public HubConnectionState State => _hub.State;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (Interlocked.Exchange(ref _starting, 1) == 1)
        {
            throw new InvalidOperationException("StartAsync is already running.");
        }

        if (_hub.State != HubConnectionState.Disconnected)
        {
            Volatile.Write(ref _starting, 0);
            throw new InvalidOperationException($"The client is {_hub.State}; StartAsync connects a disconnected client.");
        }

        try
        {
            RaiseStateChanged(HubConnectionState.Connecting);
            await ConnectWithRetriesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            RaiseStateChanged(_hub.State);
            throw;
        }
        finally
        {
            Volatile.Write(ref _starting, 0);
        }

        Interlocked.Increment(ref _connections);
        RaiseStateChanged(HubConnectionState.Connected);
        await FlushAndScheduleRetriesAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _hub.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(string topic, Func<RelayEvent, Task> handler, SubscriptionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfDisposed();

        IAsyncDisposable registration;
        Task ready;
        var added = false;
        lock (_state)
        {
            if (_topics.TryGetValue(topic, out var existing))
            {
                if (!SubscriptionOptionsComparer.Equal(existing.Options, options))
                {
                    throw new InvalidOperationException($"'{topic}' is already subscribed with other options; all handlers of a topic share its options.");
                }

                registration = existing.Add(this, handler);
                ready = existing.Ready.Task;
            }
            else
            {
                // Registered before the call: SignalR dispatches events and call completions on separate loops, so an
                // event Relay sent right after accepting the subscription can be dispatched before the call returns.
                var subscription = new TopicSubscription(topic, options);
                registration = subscription.Add(this, handler);
                _topics[topic] = subscription;
                ready = subscription.Ready.Task;
                added = true;
            }
        }

        if (added)
        {
            SchedulePump();
        }

        try
        {
            await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return registration;
    }

    /// <inheritdoc />
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
            throw ToRelayException(ex, topic: null);
        }
    }

    /// <summary>Closes the connection (raising <see cref="Closed"/>); handlers receive nothing more, and subscriptions still waiting fail with <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        TopicSubscription[] held;
        lock (_state)
        {
            held = [.. _topics.Values];
            foreach (var subscription in held)
            {
                subscription.State = TopicState.Gone;
            }

            _topics.Clear();
        }

        foreach (var subscription in held)
        {
            subscription.Ready.TrySetException(new ObjectDisposedException(nameof(RelayClient)));
        }

        // The semaphores are not disposed: a subscription disposed concurrently may still be waiting on _gate, and
        // SemaphoreSlim holds no unmanaged resource unless its wait handle is used.
        await _hub.DisposeAsync().ConfigureAwait(false);
    }

    private async Task ConnectWithRetriesAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _hub.StartAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsWorthRetrying(ex) && !cancellationToken.IsCancellationRequested && Volatile.Read(ref _disposed) == 0)
            {
                var delay = _retry.NextRetryDelay(new RetryContext { PreviousRetryCount = attempt, RetryReason = ex })!.Value;
                Log.StartFailed(_logger, attempt + 1, delay, ex);
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Relay down, restarting, draining, or PocketBase unable to verify the token (503): try again. A refused token (401/403) will not pass.</summary>
    private static bool IsWorthRetrying(Exception ex) => ex switch
    {
        HttpRequestException http => http.StatusCode is not (System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden),
        IOException or TimeoutException or System.Net.WebSockets.WebSocketException => true,
        _ => false,
    };

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
