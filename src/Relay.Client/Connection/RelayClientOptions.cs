using System.Globalization;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Relay.Client.Protocol;

namespace Relay.Client;

/// <summary>Settings of a <see cref="RelayClient"/>, read once by its constructor.</summary>
public sealed class RelayClientOptions
{
    private static readonly TimeSpan LongestReconnectDelay = TimeSpan.FromHours(1);

    /// <summary>
    /// Relay's base URL, e.g. <c>https://relay.example.com/</c> or <c>https://example.com/relay/</c>; the hub path
    /// <c>/realtime</c> is appended to its path. Required; absolute http or https.
    /// </summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// Returns the user's current PocketBase auth token, or <see langword="null"/> to connect as a guest. Called on every
    /// connect and reconnect, so a refreshed token is picked up. Sent as <c>Authorization: Bearer</c>, which Relay
    /// accepts like the <c>access_token</c> query parameter. Default: <see langword="null"/> (guest).
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Use the MessagePack hub protocol instead of JSON; records arrive intact either way. Default: <see langword="false"/>.</summary>
    public bool UseMessagePack { get; set; }

    /// <summary>
    /// Transports SignalR may negotiate. Default: WebSockets, Server-Sent Events and long polling. Must not be
    /// <see cref="HttpTransportType.None"/>. WebSockets alone skips the negotiate request, which a load balancer without
    /// sticky sessions in front of several Relay instances needs.
    /// </summary>
    public HttpTransportType Transports { get; set; } = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;

    /// <summary>
    /// Ceiling of the first reconnect delay after the connection drops; the ceiling doubles per attempt up to
    /// <see cref="ReconnectMaxDelay"/>, and each delay is between half the ceiling and the ceiling (jitter, so clients
    /// dropped together do not return together). Default: 200 ms. Must be positive.
    /// </summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Ceiling of the delay between reconnect attempts. The client never stops trying: once the ceiling is reached it
    /// keeps retrying at it, with jitter. Default: 10 s. Must be at least <see cref="ReconnectBaseDelay"/> and at most 1 hour.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the client waits after the first new subscription before sending it, so that the subscriptions a page or
    /// view requests together (a mount of 40 topics) go out as one <c>SubscribeMany</c> call instead of 40 rate-limited
    /// calls. Default: 10 ms. Must be between zero and 1 second.
    /// </summary>
    public TimeSpan SubscribeBatchDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Where the client (and SignalR underneath) logs failed handlers, retried and refused subscriptions, and reconnects. Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// With <c>services.AddRelayClient(...)</c>: connect when the host starts (in the background, retrying until Relay
    /// answers). Set it to <see langword="false"/> to call <see cref="RelayClient.StartAsync"/> yourself, for example
    /// after the user signed in. Not used by a client created with <c>new</c>. Default: <see langword="true"/>.
    /// </summary>
    public bool StartWithHost { get; set; } = true;

    /// <summary>The clock for subscription retries and the batch delay. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Escape hatch to adjust the underlying <see cref="IHubConnectionBuilder"/> after the client configured it, for
    /// example headers or an <c>HttpMessageHandler</c> through <c>WithUrl</c>'s options, or a finite reconnect policy
    /// with <c>WithAutomaticReconnect(...)</c> (the last one registered wins; <see cref="RelayClient.Closed"/> is raised
    /// when it gives up). Default: none.
    /// </summary>
    public Action<IHubConnectionBuilder>? ConfigureConnection { get; set; }

    internal void Validate()
    {
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{nameof(RelayClientOptions)}.{nameof(Url)} must be an absolute http or https URL; it is '{Url}'.", nameof(Url));
        }

        if (ReconnectBaseDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(RelayClientOptions)}.{nameof(ReconnectBaseDelay)} must be positive; it is {ReconnectBaseDelay}.", nameof(ReconnectBaseDelay));
        }

        if (ReconnectMaxDelay < ReconnectBaseDelay || ReconnectMaxDelay > LongestReconnectDelay)
        {
            throw new ArgumentException(
                $"{nameof(RelayClientOptions)}.{nameof(ReconnectMaxDelay)} must be between {nameof(ReconnectBaseDelay)} ({ReconnectBaseDelay}) and {LongestReconnectDelay}; it is {ReconnectMaxDelay}.",
                nameof(ReconnectMaxDelay));
        }

        if (SubscribeBatchDelay < TimeSpan.Zero || SubscribeBatchDelay > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{nameof(RelayClientOptions)}.{nameof(SubscribeBatchDelay)} must be between 0 and 1 second; it is {SubscribeBatchDelay}.", nameof(SubscribeBatchDelay));
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException($"{nameof(RelayClientOptions)}.{nameof(TimeProvider)} must not be null.", nameof(TimeProvider));
        }

        if (Transports == HttpTransportType.None)
        {
            throw new ArgumentException($"{nameof(RelayClientOptions)}.{nameof(Transports)} must allow at least one transport.", nameof(Transports));
        }
    }

    /// <summary>
    /// The hub URL: <see cref="Url"/> with <see cref="RelayProtocol.HubPath"/> appended to its path (a base path behind a
    /// proxy is kept) and the protocol version this client speaks declared in the query, so Relay sends it <c>Events</c> batches.
    /// </summary>
    internal Uri GetHubUrl()
    {
        var builder = new UriBuilder(Url!);
        builder.Path = builder.Path.TrimEnd('/') + RelayProtocol.HubPath;
        var version = $"{RelayProtocol.VersionParameter}={RelayProtocol.Version.ToString(CultureInfo.InvariantCulture)}";
        builder.Query = builder.Query.Length > 1 ? $"{builder.Query[1..]}&{version}" : version;
        return builder.Uri;
    }
}
