using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Relay.Client;

/// <summary>Settings of a <see cref="RelayClient"/>.</summary>
public sealed class RelayClientOptions
{
    /// <summary>Relay's base URL, e.g. <c>https://relay.example.com/</c>; the hub path <c>/realtime</c> is appended. Required.</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// Returns the user's current PocketBase auth token, or <see langword="null"/> to connect as a guest. Called on every
    /// connect and reconnect, so a refreshed token is picked up. Default: <see langword="null"/> (guest).
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Use the MessagePack hub protocol instead of JSON. Default: <see langword="false"/>.</summary>
    public bool UseMessagePack { get; set; }

    /// <summary>Transports SignalR may negotiate. Default: WebSockets, Server-Sent Events and long polling.</summary>
    public HttpTransportType Transports { get; set; } = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;

    /// <summary>First delay before reconnecting after the connection drops; doubles per attempt, with jitter. Default: 200 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between reconnect attempts. The client never stops trying. Default: 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the client logs failed handlers and reconnects. Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Escape hatch to adjust the underlying <see cref="IHubConnectionBuilder"/> (e.g. headers, handlers). Default: none.</summary>
    public Action<IHubConnectionBuilder>? ConfigureConnection { get; set; }

    internal void Validate()
    {
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{nameof(Url)} must be an absolute http or https URL; it is '{Url}'.", nameof(Url));
        }

        if (ReconnectBaseDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectBaseDelay)
        {
            throw new ArgumentException(
                $"{nameof(ReconnectBaseDelay)} must be positive and {nameof(ReconnectMaxDelay)} not shorter than it ({ReconnectBaseDelay} / {ReconnectMaxDelay}).",
                nameof(ReconnectBaseDelay));
        }

        if (Transports == HttpTransportType.None)
        {
            throw new ArgumentException($"{nameof(Transports)} must allow at least one transport.", nameof(Transports));
        }
    }
}
