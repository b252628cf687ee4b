using System.Collections.Concurrent;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// One browser tab of a soak viewer: a real <see cref="RelayClient"/> subscribed to some of the viewer's topics,
/// recording every event and Resync it gets.
/// </summary>
internal sealed class IsolationSoakTab(IsolationSoakViewer viewer, RelayClient client, IReadOnlyList<string> topics)
{
    private readonly List<IAsyncDisposable> _subscriptions = [];

    public IsolationSoakViewer Viewer { get; } = viewer;

    /// <summary>The topics this tab asked for; an event on any other is a leak.</summary>
    public IReadOnlyList<string> Topics { get; } = topics;

    /// <summary>Each held topic, with the writer's started operations and the time when Relay confirmed it: later writes must arrive.</summary>
    public ConcurrentDictionary<string, (long Index, DateTime At)> Held { get; } = new();

    public ConcurrentQueue<(string Topic, string Key, DateTime At)> Received { get; } = new();

    public ConcurrentQueue<(DateTime At, IReadOnlyList<string> Topics, string Reason)> Resyncs { get; } = new();

    /// <summary>When the test started closing this tab (sign-out, tab closed); nothing is owed to it from shortly before.</summary>
    public DateTime? ClosingAt { get; private set; }

    /// <summary>Connects and subscribes to <c>topics</c>; the tab connects with <c>token</c> if given (a test of the judge swaps it), else the viewer's own.</summary>
    public static async Task<IsolationSoakTab> OpenAsync(IsolationSoakViewer viewer, Uri relay, IReadOnlyList<string> topics, Func<long> startedOperations, string? token = null)
    {
        token ??= viewer.Token;
        var client = new RelayClient(new RelayClientOptions
        {
            Url = relay,
            AccessTokenProvider = _ => ValueTask.FromResult(token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        });
        var tab = new IsolationSoakTab(viewer, client, topics);
        client.Resync += signal =>
        {
            tab.Resyncs.Enqueue((DateTime.UtcNow, signal.Topics, signal.Reason));
            return Task.CompletedTask;
        };
        try
        {
            await client.StartAsync().DefaultTimeout();
            // Together, so the client sends them in one SubscribeMany call (as an app mounting a page does).
            var subscriptions = await Task.WhenAll(topics.Select(async topic =>
            {
                var subscription = await client.SubscribeAsync(topic, tab.OnEventAsync).DefaultTimeout();
                tab.Held[topic] = (startedOperations(), DateTime.UtcNow);
                return subscription;
            })).DefaultTimeout();
            tab._subscriptions.AddRange(subscriptions);
        }
        catch
        {
            await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            throw;
        }

        viewer.Tabs.Add(tab);
        return tab;
    }

    private Task OnEventAsync(RelayEvent relayEvent)
    {
        Received.Enqueue((relayEvent.Topic, IsolationSoakEvents.Key(relayEvent.Action, relayEvent.Record), DateTime.UtcNow));
        return Task.CompletedTask;
    }

    /// <summary>Closes the tab (its connection ends, as when a browser tab closes).</summary>
    public Task CloseAsync()
    {
        MarkClosing();
        return StopAsync();
    }

    /// <summary>Ends the connection at the end of the run: what the tab got until now is judged in full.</summary>
    public async Task StopAsync()
        => await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    /// <summary>Marks the tab as closing now; <see cref="CloseAsync"/> follows in the background.</summary>
    public void MarkClosing() => ClosingAt ??= DateTime.UtcNow;
}
