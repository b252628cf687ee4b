using Microsoft.AspNetCore.Http.Connections;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// One app client (a user's tab or a guest): a real <see cref="RelayClient"/>, WebSockets only, reconnecting and
/// recovering with <c>since</c> as it does for apps, and a log of everything it got.
/// </summary>
internal sealed class ChaosClient : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<Delivery> _deliveries = [];
    private readonly List<ResyncNote> _resyncs = [];
    private readonly List<TimeSpan> _disconnects = [];
    private int _reconnects;

    public ChaosClient(string name, Uri url, PocketBaseUser? user, IReadOnlyList<string> topics)
    {
        Name = name;
        User = user;
        Topics = topics;
        Client = new RelayClient(new RelayClientOptions
        {
            Url = url,
            AccessTokenProvider = _ => ValueTask.FromResult(user?.Token),
            Transports = HttpTransportType.WebSockets,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        Client.Resync += signal =>
        {
            lock (_gate)
            {
                _resyncs.Add(new ResyncNote(ChaosClock.Now, [.. signal.Topics], signal.Reason));
            }

            return Task.CompletedTask;
        };
        Client.Reconnecting += _ =>
        {
            lock (_gate)
            {
                _disconnects.Add(ChaosClock.Now);
            }

            return Task.CompletedTask;
        };
        Client.Reconnected += () =>
        {
            Interlocked.Increment(ref _reconnects);
            return Task.CompletedTask;
        };
    }

    public string Name { get; }

    public PocketBaseUser? User { get; }

    public IReadOnlyList<string> Topics { get; }

    public RelayClient Client { get; }

    /// <summary>When every topic was held: every change written after it is due to this client.</summary>
    public TimeSpan? SubscribedAt { get; private set; }

    /// <summary>When the test closed it (a tab closed): nothing written after it is due.</summary>
    public TimeSpan? ClosedAt { get; private set; }

    public int Reconnects => Volatile.Read(ref _reconnects);

    public List<Delivery> Deliveries()
    {
        lock (_gate)
        {
            return [.. _deliveries];
        }
    }

    public List<ResyncNote> Resyncs()
    {
        lock (_gate)
        {
            return [.. _resyncs];
        }
    }

    public List<TimeSpan> Disconnects()
    {
        lock (_gate)
        {
            return [.. _disconnects];
        }
    }

    /// <summary>Whether the client, alive at <paramref name="at"/>, had its topics held by then.</summary>
    public bool AliveAt(TimeSpan at) => SubscribedAt <= at && (ClosedAt is null || ClosedAt > at);

    public async Task StartAsync()
    {
        await Client.StartAsync().WaitAsync(TestTimeouts.Default);
        // Together: the client sends them as one SubscribeMany, as a page mount does.
        // (The subscriptions end with the client.)
        await Task.WhenAll(Topics.Select(topic => Client.SubscribeAsync(topic, OnEventAsync))).WaitAsync(TimeSpan.FromSeconds(30));

        SubscribedAt = ChaosClock.Now;
    }

    public async ValueTask DisposeAsync()
    {
        ClosedAt ??= ChaosClock.Now;
        await Client.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Default);
    }

    private Task OnEventAsync(RelayEvent relayEvent)
    {
        var record = relayEvent.Record;
        string? Field(string name) => record.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : null;
        var delivery = new Delivery(ChaosClock.Now, relayEvent.Topic, relayEvent.Action, Field("id") ?? "", Field("title") ?? "", Field("owner"));
        lock (_gate)
        {
            _deliveries.Add(delivery);
        }

        return Task.CompletedTask;
    }
}
