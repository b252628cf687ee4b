using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Relay.PocketBase;
using Relay.Upstream;
using static Relay.Tests.TestWait;

namespace Relay.Tests.Upstream;

public class UpstreamConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    internal static (UpstreamConnection Connection, TestMetrics Metrics) Create(
        FakePocketBase pocketBase, IUpstreamSubscriber subscriber, TimeSpan? idleTimeout = null, TimeProvider? timeProvider = null, Action<PocketBaseOptions>? configure = null,
        Func<IOptions<PocketBaseOptions>, TimeProvider, TestMetrics, UpstreamConnectPipeline>? pipelineFactory = null)
    {
        var settings = new PocketBaseOptions
        {
            Url = new Uri("http://pocketbase.test/"),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(50),
            IdleTimeout = idleTimeout ?? TimeSpan.FromMinutes(6),
            RotateAfterIdle = idleTimeout is { } idle ? idle / 2 : TimeSpan.FromSeconds(270),
        };
        configure?.Invoke(settings);
        var options = Options.Create(settings);
        timeProvider ??= TimeProvider.System;
        var metrics = new TestMetrics(timeProvider);
        var client = new PocketBaseRealtimeClient(pocketBase, options, timeProvider);
        var pipeline = pipelineFactory?.Invoke(options, timeProvider, metrics) ?? new UpstreamConnectPipeline(options, timeProvider, metrics.Metrics);
        return (new UpstreamConnection(subscriber, client, pipeline, options, timeProvider, metrics.Metrics, NullLogger<UpstreamConnection>.Instance), metrics);
    }

    [Fact]
    public async Task Start_PostsTopicsWithTokenAndDeliversEventsInOrder()
    {
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber("user-token", "notes/*", "announcements/*");
        var (connection, metrics) = Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;

        connection.Start();
        var stream = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        var post = await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(stream.ClientId, post.ClientId);
        Assert.Equal(["notes/*", "announcements/*"], post.Topics);
        Assert.Equal("user-token", post.Authorization);
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);

        for (var i = 0; i < 20; i++)
        {
            await stream.WriteRecordAsync("notes/*", i % 2 == 0 ? "create" : "update", $"r{i}");
        }

        for (var i = 0; i < 20; i++)
        {
            var received = await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            Assert.Equal("notes/*", received.UpstreamTopic);
            Assert.Equal($"r{i}", received.Record.GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task StreamClosedByServer_ReconnectsRepostsAllTopicsAndSignalsResync()
    {
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;

        connection.Start();
        var first = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(0, subscriber.Resubscribed);

        first.Close();
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        var repost = await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.NotEqual(first.ClientId, second.ClientId);
        Assert.Equal(second.ClientId, repost.ClientId);
        Assert.Equal(["announcements/*"], repost.Topics);
        Assert.Null(repost.Authorization);
        await WaitUntilAsync(() => subscriber.Resubscribed == 1);
        await second.WriteRecordAsync("announcements/*", "create", "after");
        Assert.Equal("after", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task TopicChanges_AreCoalescedAndWaitersCompleteOncePosted()
    {
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "a/*");
        var (connection, metrics) = Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;
        connection.Start();
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        subscriber.SetTopics("a/*", "b/*");
        subscriber.SetTopics("a/*", "b/*", "c/*");
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);

        var posts = new List<string[]>();
        while (pocketBase.Posts.Reader.TryRead(out var post))
        {
            posts.Add(post.Topics);
        }

        Assert.NotEmpty(posts);
        Assert.Equal(["a/*", "b/*", "c/*"], posts[^1]);
    }

    [Fact]
    public async Task PocketBaseDown_WaitersFailAndConnectionKeepsRetrying()
    {
        var pocketBase = new FakePocketBase { StreamStatus = HttpStatusCode.BadGateway };
        var subscriber = new FakeSubscriber(null, "a/*");
        var (connection, metrics) = Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;
        connection.Start();

        await Assert.ThrowsAsync<UpstreamException>(() => connection.WaitForSyncAsync(1, CancellationToken.None).WaitAsync(Timeout));

        pocketBase.StreamStatus = HttpStatusCode.OK;
        await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);
    }

    [Fact]
    public async Task SilentStream_IsDroppedAfterIdleTimeoutAndReplaced()
    {
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "a/*");
        // Rotation is pushed past the idle timeout here (as when it keeps failing), so the stream really goes silent.
        var (connection, metrics) = Create(pocketBase, subscriber, idleTimeout: TimeSpan.FromMilliseconds(300), configure: o => o.RotateAfterIdle = TimeSpan.FromHours(1));
        await using var _ = connection;
        using var __ = metrics;
        connection.Start();

        var first = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.NotEqual(first.ClientId, second.ClientId);
        await WaitUntilAsync(() => subscriber.Resubscribed >= 1);
    }

    /// <summary>Starts <paramref name="connection"/> and returns its first stream once PocketBase got its subscription POST.</summary>
    internal static async Task<FakePocketBase.SseStream> StartAsync(UpstreamConnection connection, FakePocketBase pocketBase)
    {
        connection.Start();
        var first = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        return first;
    }
}
