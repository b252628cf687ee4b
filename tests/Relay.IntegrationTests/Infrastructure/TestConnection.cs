using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>A raw SignalR client over WebSockets, as a browser tab would hold one, recording what Relay sends it.</summary>
public sealed class TestConnection : IAsyncDisposable
{
    private readonly Channel<RelayEvent> _events = Channel.CreateUnbounded<RelayEvent>();
    private readonly Channel<(ResyncSignal Signal, long ReceivedAt)> _resyncs = Channel.CreateUnbounded<(ResyncSignal, long)>();

    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AuthExpiredSignal> _authExpired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestConnection(HubConnection hub) => Hub = hub;

    /// <summary>Completes when the connection closes for good.</summary>
    public Task<Exception?> Closed => _closed.Task;

    /// <summary>Completes when Relay sends <c>AuthExpired</c>.</summary>
    public Task<AuthExpiredSignal> AuthExpired => _authExpired.Task;

    public HubConnection Hub { get; }

    /// <summary>Resync signals with the <see cref="System.Diagnostics.Stopwatch"/> timestamp of their arrival.</summary>
    public ChannelReader<(ResyncSignal Signal, long ReceivedAt)> Resyncs => _resyncs.Reader;

    public static async Task<TestConnection> StartAsync(Uri relayUrl, string? token, bool messagePack, System.Net.CookieContainer? cookies = null)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(relayUrl, RelayProtocol.HubPath), options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }

            if (cookies is not null)
            {
                options.Cookies = cookies;
                // As a browser's WebSocket always does: Relay refuses a cookie without proof of its page's origin.
                options.Headers["Origin"] = relayUrl.GetLeftPart(UriPartial.Authority);
            }
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol(options => options.SerializerOptions = RelayMessagePack.SerializerOptions);
        }

        var hub = builder.Build();
        var connection = new TestConnection(hub);
        hub.On<RelayEvent>(nameof(IRelayClient.Event), e => connection._events.Writer.TryWrite(e));
        hub.On<ResyncSignal>(nameof(IRelayClient.Resync), s => connection._resyncs.Writer.TryWrite((s, System.Diagnostics.Stopwatch.GetTimestamp())));
        hub.On<AuthExpiredSignal>(nameof(IRelayClient.AuthExpired), s => connection._authExpired.TrySetResult(s));
        hub.Closed += error =>
        {
            connection._closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await hub.StartAsync();
        return connection;
    }

    public Task SubscribeAsync(string topic, SubscriptionOptions? options = null)
        => Hub.InvokeAsync(nameof(IRelayHub.Subscribe), topic, options).DefaultTimeout();

    public Task ReauthenticateAsync(string token) => Hub.InvokeAsync(nameof(IRelayHub.Reauthenticate), token).DefaultTimeout();

    public Task UnsubscribeAsync(string topic) => Hub.InvokeAsync(nameof(IRelayHub.Unsubscribe), topic).DefaultTimeout();

    /// <summary>Subscribes and returns the error code Relay refused with.</summary>
    public async Task<string?> SubscribeExpectingErrorAsync(string topic, SubscriptionOptions? options = null)
    {
        var ex = await Assert.ThrowsAsync<HubException>(() => SubscribeAsync(topic, options));
        return RelayErrorCodes.FromMessage(ex.Message);
    }

    /// <exception cref="TimeoutException">No event within <paramref name="timeout"/> (15 s by default).</exception>
    public async Task<RelayEvent> NextEventAsync(TimeSpan? timeout = null)
    {
        // The read is cancelled at the timeout, not abandoned: an abandoned read stays queued on the channel and takes
        // the next event, so a test polling with short timeouts saw each event go to the read it had given up before
        // and never one again (PocketBaseLiveAuthTests' password-change test missed once in three CI runs that way).
        using var timedOut = new CancellationTokenSource(timeout ?? TestTimeouts.Default);
        try
        {
            return await _events.Reader.ReadAsync(timedOut.Token);
        }
        catch (OperationCanceledException) when (timedOut.IsCancellationRequested)
        {
            throw new TimeoutException($"No event within {(timeout ?? TestTimeouts.Default).TotalSeconds:0.###} s.");
        }
    }

    /// <summary>Waits for the next event and asserts it is <paramref name="action"/> of <paramref name="recordId"/>.</summary>
    public async Task<RelayEvent> NextEventAsync(string action, string recordId)
    {
        var next = await NextEventAsync();
        Assert.True(
            next.Action == action && next.Record.GetProperty("id").GetString() == recordId,
            $"Expected {action} of {recordId}, got {next.Action} of {next.Record.GetProperty("id").GetString()} on {next.Topic}.");
        return next;
    }

    /// <summary>Asserts nothing arrives for a while.</summary>
    public async Task AssertNoEventAsync(TimeSpan? within = null)
    {
        await Task.Delay(within ?? TestTimeouts.Quiet);
        Assert.False(_events.Reader.TryRead(out var unexpected), $"Unexpected event: {unexpected?.Action} on {unexpected?.Topic}: {unexpected?.Record}");
    }

    public List<RelayEvent> Drain()
    {
        var drained = new List<RelayEvent>();
        while (_events.Reader.TryRead(out var e))
        {
            drained.Add(e);
        }

        return drained;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Hub.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // A test that already failed may leave a connection hanging; the host's disposal closes it.
        }
    }
}
