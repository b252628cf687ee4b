using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Cluster;
using Relay.Tests.Upstream;
using Relay.Upstream;

namespace Relay.Tests.Cluster;

/// <summary>
/// Instances of a cluster in one process: each a <see cref="ClusterNode"/> on one shared in-memory store and one fake
/// PocketBase. Cluster time (leases, expiries, the loop's ticks) is a <see cref="FakeTimeProvider"/> the test advances;
/// the PocketBase streams run in real time against the fake (milliseconds).
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly List<TestMetrics> _metrics = [];
    private readonly List<ClusterUpstream> _upstreams = [];

    public ClusterHarness()
    {
        Store = new FakeClusterStore(Time);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    public FakeClusterStore Store { get; }

    public FakePocketBase PocketBase { get; } = new();

    public ClusterOptions Options { get; } = new()
    {
        LeaseTime = TimeSpan.FromSeconds(3),
        RenewInterval = TimeSpan.FromMilliseconds(500),
        HandoverTimeout = TimeSpan.FromSeconds(10),
    };

    public ClusterNode AddInstance() => new(Store, Options, TimeSpan.FromMinutes(2), Time, NullLogger.Instance);

    /// <summary>A session stream for <paramref name="subscriber"/> on <paramref name="node"/>, started.</summary>
    public ClusterUpstream Follow(ClusterNode node, IUpstreamSubscriber subscriber)
    {
        var upstream = Create(node, subscriber);
        upstream.Start();
        return upstream;
    }

    /// <summary>A session stream for <paramref name="subscriber"/> on <paramref name="node"/>, not started yet (halted at the end).</summary>
    public ClusterUpstream Create(ClusterNode node, IUpstreamSubscriber subscriber)
    {
        var upstream = node.Create(subscriber, CreateLocal);
        lock (_upstreams)
        {
            _upstreams.Add(upstream);
        }

        return upstream;
    }

    /// <summary>Advances cluster time a tick at a time until <paramref name="condition"/> holds.</summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, string what, TimeSpan? step = null)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            Time.Advance(step ?? Options.RenewInterval / 5);
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits, cluster time standing still, until <paramref name="condition"/> holds: for what follows from notifications
    /// alone (another instance reading an entry just appended). Advancing time instead could let a lease or a handover
    /// expire meanwhile and reach the state by another path.
    /// </summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits (cluster time standing still) until <paramref name="owner"/>, handing over, has seen its successor ready, then
    /// advances cluster time by the overlap it still reads its own stream for: it lets go at its next pass.
    /// </summary>
    public async Task PassTheOverlapAsync(ClusterUpstream owner)
    {
        await WaitUntilAsync(() => owner.IsLettingGo, "the owner to see its successor ready");
        Time.Advance(Options.HandoverOverlap);
    }

    /// <summary>Waits (cluster time standing still) until <paramref name="task"/> completes.</summary>
    public static Task WithinDeadline(Task task) => task.WaitAsync(Deadline);

    /// <inheritdoc cref="WithinDeadline(Task)"/>
    public static Task<T> WithinDeadline<T>(Task<T> task) => task.WaitAsync(Deadline);

    /// <summary>The next PocketBase stream opened (an owner's, a successor's or an own one while alone).</summary>
    public async Task<FakePocketBase.SseStream> NextStreamAsync() => await PocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    public async ValueTask DisposeAsync()
    {
        ClusterUpstream[] upstreams;
        lock (_upstreams)
        {
            upstreams = [.. _upstreams];
        }

        foreach (var upstream in upstreams)
        {
            try
            {
                await upstream.HaltAsync().AsTask().WaitAsync(Deadline);
            }
            catch (ObjectDisposedException)
            {
                // Disposed by the test already.
            }
        }

        foreach (var metrics in _metrics)
        {
            metrics.Dispose();
        }
    }

    /// <summary>What the owners of one session stream's state share, for unit tests of one owner without the loop.</summary>
    public ClusterUpstreamContext Context(ClusterNode node, IUpstreamSubscriber subscriber) => new(subscriber, CreateLocal, node);

    /// <summary>A PocketBase stream on the fake PocketBase (disposed by whoever owns it).</summary>
    public UpstreamConnection CreateLocal(IUpstreamSubscriber subscriber)
    {
        var (connection, metrics) = UpstreamConnectionTests.Create(PocketBase, subscriber);
        lock (_upstreams)
        {
            _metrics.Add(metrics);
        }

        return connection;
    }
}
