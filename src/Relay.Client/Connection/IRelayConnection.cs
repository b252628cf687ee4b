using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>
/// What an app uses of a Relay connection (implemented by <see cref="RelayClient"/>); depend on it to replace the
/// connection with a fake in tests. Not to be confused with <see cref="IRelayClient"/>, the wire contract of the
/// methods Relay invokes on its clients.
/// </summary>
public interface IRelayConnection : IAsyncDisposable
{
    /// <summary>
    /// Events for <see cref="ResyncSignal.Topics"/> may have been lost; refetch what you hold for them.
    /// <see cref="ResyncSignal.Reason"/> is <c>reconnected</c> when this client subscribed topics again on a new
    /// connection (raised once they are held again) and Relay's history did not cover the time away (a topic Relay
    /// recovered, by replaying its missed events before any live one, is not resynced), or the reason Relay sent
    /// (<c>upstream_reconnected</c>, <c>overflow</c>).
    /// Runs one at a time with the event handlers, in arrival order; an exception it throws is logged.
    /// </summary>
    event Func<ResyncSignal, Task>? Resync;

    /// <summary>
    /// Relay refused a held topic for good (<c>topic_not_allowed</c>, <c>subscription_refused</c>, <c>too_many_subscriptions</c>,
    /// ...): its handlers are dropped and receive nothing more. <see cref="RelaySubscriptionException.Topic"/> names it and
    /// <see cref="RelaySubscriptionException.Code"/> says why. Raised for a first subscription too (whose
    /// <see cref="SubscribeAsync"/> also throws) and for a topic refused when it is subscribed again after a reconnect.
    /// Refusals that may pass (<c>rate_limited</c>, <c>upstream_unavailable</c>) are retried instead and never raise it.
    /// An exception it throws is logged.
    /// </summary>
    event Func<RelaySubscriptionException, Task>? SubscriptionFailed;

    /// <summary>
    /// PocketBase no longer accepts the user's token (expired, user deleted, password changed). Relay closes the
    /// connection next and the client does not reconnect: start again with a new token. An exception it throws is logged.
    /// </summary>
    event Func<AuthExpiredSignal, Task>? AuthExpired;

    /// <summary>
    /// The connection dropped (or Relay asked its clients to move, while draining for a deploy) and the client is
    /// reconnecting; the argument is the cause, if any. A short transport drop bridged by a stateful reconnect raises
    /// nothing. An exception it throws is logged.
    /// </summary>
    event Func<Exception?, Task>? Reconnecting;

    /// <summary>
    /// The connection is back and the held topics were sent again in one call, each with the last offset seen for it;
    /// <see cref="Resync"/> follows for those Relay holds again but could not recover. An exception it throws is logged.
    /// </summary>
    event Func<Task>? Reconnected;

    /// <summary>
    /// The connection closed for good: the client was disposed, Relay closed it without allowing a reconnect (for
    /// example after <see cref="AuthExpired"/>), or a finite reconnect policy set through
    /// <see cref="RelayClientOptions.ConfigureConnection"/> gave up. The argument is the cause, if any. Subscriptions stay
    /// held: <see cref="StartAsync"/> subscribes them again. An exception it throws is logged.
    /// </summary>
    event Func<Exception?, Task>? Closed;

    /// <summary>
    /// The connection state changed (<c>Connecting</c>, <c>Connected</c>, <c>Reconnecting</c>, <c>Disconnected</c>), so a
    /// UI can show it without polling <see cref="State"/>. Raised synchronously on the thread that saw the change; marshal
    /// to the UI thread yourself. An exception it throws is logged.
    /// </summary>
    event Action<HubConnectionState>? StateChanged;

    /// <summary>The connection state: <c>Disconnected</c> until <see cref="StartAsync"/>, then <c>Connecting</c>, <c>Connected</c> or <c>Reconnecting</c>.</summary>
    HubConnectionState State { get; }

    /// <summary>
    /// Connects to Relay, retrying with the reconnect backoff (<see cref="RelayClientOptions.ReconnectBaseDelay"/> up to
    /// <see cref="RelayClientOptions.ReconnectMaxDelay"/>, jittered) while Relay is unreachable or answers 503, until it
    /// connects or <paramref name="cancellationToken"/> is cancelled. Then subscribes every held topic in one call (those
    /// requested before the start, and those held before a final close, which raise <see cref="Resync"/>).
    /// </summary>
    /// <param name="cancellationToken">Stops trying.</param>
    /// <exception cref="HttpRequestException">Relay refused the token: <see cref="HttpRequestException.StatusCode"/> is 401 (invalid or expired) or 403. Not retried.</exception>
    /// <exception cref="InvalidOperationException">The client is not disconnected (already started), or another <c>StartAsync</c> is running.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes the connection (raising <see cref="Closed"/>) but keeps every subscription and handler: the next
    /// <see cref="StartAsync"/> subscribes them again in one call and raises <see cref="Resync"/>. For a mobile app going to
    /// the background, or to reconnect at once when the network comes back (<c>StopAsync</c>, then <c>StartAsync</c>).
    /// Also stops a reconnect in progress.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the close.</param>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="topic"/>. Several handlers of one topic share one
    /// subscription on Relay; disposing the returned object removes the handler, and the last one removes the
    /// subscription. New topics requested together (within <see cref="RelayClientOptions.SubscribeBatchDelay"/>, or
    /// before the connection is up) go to Relay in one <c>SubscribeMany</c> call. Completes once PocketBase holds the
    /// subscription, so every change committed afterwards reaches the handler (which may already be called before this
    /// completes, for a change committed in the meantime). While the client is not connected it waits for the
    /// connection; refusals that may pass (<c>rate_limited</c>, <c>upstream_unavailable</c>) are retried with backoff.
    /// </summary>
    /// <param name="topic"><c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>; Relay validates it.</param>
    /// <param name="handler">
    /// Called for each event of the topic. All handlers of the client and <see cref="Resync"/> run one at a time, in the
    /// order Relay delivered the events; an exception is logged and affects nothing else.
    /// </param>
    /// <param name="options">PocketBase subscription options (<c>expand</c>, <c>fields</c>, <c>filter</c>, headers). Default: none. All handlers of a topic share its options.</param>
    /// <param name="cancellationToken">Stops waiting; the handler is then removed (and the topic released if it was the last one).</param>
    /// <returns>Dispose it to remove the handler; idempotent.</returns>
    /// <exception cref="ArgumentException"><paramref name="topic"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="RelaySubscriptionException">Relay refused the topic for good; <see cref="RelaySubscriptionException.Code"/> says why. Nothing is held, and <see cref="SubscriptionFailed"/> is raised too.</exception>
    /// <exception cref="InvalidOperationException">The topic is held with different options.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    Task<IAsyncDisposable> SubscribeAsync(string topic, Func<RelayEvent, Task> handler, SubscriptionOptions? options = null, CancellationToken cancellationToken = default);

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
    Task ReauthenticateAsync(string token, CancellationToken cancellationToken = default);
}
