using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client.Protocol;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A raw SignalR client that arrives through a proxy: its requests carry <c>X-Forwarded-For</c>, which Relay believes
/// only when the proxy (here: loopback) is listed under <c>Relay:ForwardedHeaders</c>.
/// </summary>
public sealed class ForwardedClient : IAsyncDisposable
{
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ForwardedClient(HubConnection hub) => Hub = hub;

    public HubConnection Hub { get; }

    public Channel<RelayEvent> Events { get; } = Channel.CreateUnbounded<RelayEvent>();

    public Task<Exception?> Closed => _closed.Task;

    public static async Task<ForwardedClient> ConnectAsync(Uri relayUrl, string forwardedFor, string? token = null)
    {
        var hub = new HubConnectionBuilder().WithUrl(new Uri(relayUrl, RelayProtocol.HubPath), options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            options.Headers["X-Forwarded-For"] = forwardedFor;
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }
        }).Build();
        var client = new ForwardedClient(hub);
        hub.On<RelayEvent>(nameof(IRelayClient.Event), e => client.Events.Writer.TryWrite(e));
        hub.Closed += error =>
        {
            client._closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await hub.StartAsync().DefaultTimeout();
        return client;
    }

    public Task<SubscribeResult[]> SubscribeManyAsync(IEnumerable<string> topics)
        => Hub.InvokeAsync<SubscribeResult[]>(nameof(IRelayHub.SubscribeMany), topics.Select(topic => new SubscribeRequest { Topic = topic }).ToArray()).WaitAsync(TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Hub.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // The host's disposal closes it.
        }
    }
}
