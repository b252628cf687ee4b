using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Relay.PocketBase;
using Relay.Upstream;

namespace Relay.Tests.Upstream;

/// <summary>Planned stream rotation (make before break) and refused topics, driven by a fake clock and a fake PocketBase.</summary>
public class UpstreamRotationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task IdleStream_RotatedBeforePocketBaseClosesIt_OverlapDeliveredOnce_NoResync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber("token", "notes/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.streams_lost");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        // Nothing happens before the idle rotation point (4 min 30 s after the last message).
        time.Advance(TimeSpan.FromMinutes(4));
        await Task.Delay(100);
        Assert.False(pocketBase.Streams.Reader.TryRead(out var _));

        await first.WriteRecordAsync("notes/*", "create", "before");
        Assert.Equal("before", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
        var second = await AdvanceUntilAsync(time, () => pocketBase.Streams.Reader.TryRead(out var stream) ? stream : null, TimeSpan.FromSeconds(10));
        var post = await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(second.ClientId, post.ClientId);
        Assert.Equal(["notes/*"], post.Topics);
        Assert.Equal("token", post.Authorization);

        // The overlap: a change PocketBase sends on both streams, one only the old stream had, one only the new one has.
        await first.WriteRecordAsync("notes/*", "update", "both", "v1");
        await first.WriteRecordAsync("notes/*", "update", "old-only", "v1");
        await second.WriteRecordAsync("notes/*", "update", "both", "v1");
        await second.WriteRecordAsync("notes/*", "update", "new-only", "v1");
        await AdvanceUntilAsync(time, () => rotations.GetMeasurementSnapshot().Count == 1 ? (object?)true : null, TimeSpan.FromMilliseconds(500));
        await second.WriteRecordAsync("notes/*", "update", "after", "v1");

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString()!);
        }

        Assert.Equal(["both", "old-only", "new-only", "after"], ids);
        await Task.Delay(100);
        Assert.False(subscriber.Events.Reader.TryRead(out var _));
        Assert.Equal(0, subscriber.Resubscribed);
        Assert.Empty(lost.GetMeasurementSnapshot());
        Assert.Equal("idle", rotations.GetMeasurementSnapshot()[0].Tags["reason"]);
        Assert.Equal(second.ClientId, connection.ClientId);
    }

    [Fact]
    public async Task OldStreamCutBeforeItsRotation_ItsReplacementAloneReadsAChange_Resync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber("token", "notes/*");

        // Relay's own idle timeout far away: only the rotation ends the old stream here, however long a loaded machine
        // takes to set the new one up while the fake clock moves on.
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time, configure: o => o.IdleTimeout = TimeSpan.FromHours(1));
        await using var _ = connection;
        using var __ = metrics;
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.streams_lost");
        using var received = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.events.received");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        // Once an event went through, the first stream's reader is in its loop (its PB_CONNECT timeout replaced by the
        // idle timeout) and the clock may jump.
        await first.WriteRecordAsync("notes/*", "create", "before-the-cut");
        Assert.Equal("before-the-cut", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
        received.Clear();

        // The first stream is cut half-open: it stays open and silent, and its rotation comes before TCP keep-alive
        // would notice (probes start after 30 s of silence, the cut is declared 30 s later). PocketBase sends the
        // change on both streams; only the new one still carries it.
        // Straight to the idle rotation point (4 min 30 s); the rotation sets its new stream up in real time.
        time.Advance(TimeSpan.FromSeconds(271));
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await second.WriteRecordAsync("notes/*", "create", "seen-by-the-new-stream-only");

        // Read at the start of the overlap (the clock stands still until then), so it had the whole overlap to reach the
        // old stream.
        var deadline = DateTime.UtcNow + (2 * Timeout);
        while (received.GetMeasurementSnapshot().Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the new stream's event was not read");
            await Task.Delay(10);
        }

        // Through the overlap (2 s) and no further: the rest of the rotation is real-time work, and a clock running on
        // would bring the new stream's own rotation and its timeouts on a loaded machine.
        var advanced = TimeSpan.Zero;
        while (rotations.GetMeasurementSnapshot().Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the rotation did not complete");
            if (advanced < TimeSpan.FromSeconds(3))
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
                advanced += TimeSpan.FromMilliseconds(250);
            }

            await Task.Delay(20);
        }

        Assert.Equal("seen-by-the-new-stream-only", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
        Assert.Equal(1, Volatile.Read(ref subscriber.Resubscribed));
        Assert.Equal("cut_before_rotation", Assert.Single(lost.GetMeasurementSnapshot()).Tags["reason"]);
        Assert.Equal(second.ClientId, connection.ClientId);
    }

    [Fact]
    public async Task BusyStream_RotatedAtLifetimeLimit_NoResync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time, configure: o => o.RotateAfterLifetime = TimeSpan.FromMinutes(29));
        await using var _ = connection;
        using var __ = metrics;
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        connection.Start();
        var stream = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // An event every minute keeps the idle rotation away; the lifetime (29 min less up to a tenth) still applies.
        for (var minute = 1; minute <= 26; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await stream.WriteRecordAsync("announcements/*", "create", $"m{minute}");
            await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        }

        Assert.Empty(rotations.GetMeasurementSnapshot());

        // The rotation sets its new stream up in real time against the fake: the clock stands still meanwhile (then moves
        // in small steps through the overlap), or on a loaded machine it would run on to the old stream's idle timeout
        // (6 min after the last event) before the new stream is live, and the rotation would fail as a loss.
        await AdvanceUntilAsync(time, () => pocketBase.Streams.Reader.TryRead(out var next) ? next : null, TimeSpan.FromSeconds(2));
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await AdvanceUntilAsync(time, () => rotations.GetMeasurementSnapshot().Count == 1 ? (object?)true : null, TimeSpan.FromMilliseconds(500));
        Assert.Equal("lifetime", rotations.GetMeasurementSnapshot()[0].Tags["reason"]);
        Assert.Equal(0, subscriber.Resubscribed);
    }

    [Fact]
    public async Task CurrentPocketBasesLimits_AnHourOfSteadyTraffic_NoStreamEverCut_NoResync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase { Clock = time, IdleLimit = TimeSpan.FromMinutes(5), LifetimeLimit = TimeSpan.FromMinutes(30) };
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        connection.Start();
        var stream = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // Follows every rotation that started: a new stream sets itself up in real time against the fake, so the clock
        // stands still until PocketBase has its POST, then moves in small steps through the overlap (running on at 10 s
        // a step, a loaded machine reached PocketBase's 30-minute limit first and the old stream was cut).
        var rotationsSeen = 0;
        async Task FollowRotationsAsync()
        {
            while (pocketBase.Streams.Reader.TryRead(out var next))
            {
                await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
                rotationsSeen++;
                await AdvanceUntilAsync(time, () => rotations.GetMeasurementSnapshot().Count >= rotationsSeen ? (object?)true : null, TimeSpan.FromMilliseconds(500));
                stream = next;
            }
        }

        // An event every two minutes on whichever stream is current: never idle, so only the lifetime limit applies.
        var delivered = 0;
        for (var minute = 2; minute <= 60; minute += 2)
        {
            for (var step = 0; step < 12; step++)
            {
                // Small steps, so Relay's continuations run between the fake clock's timers as they would in real time.
                time.Advance(TimeSpan.FromSeconds(10));
                await Task.Delay(20);
                await FollowRotationsAsync();
            }

            // A rotation that began at the block's last step may not have opened its new stream by the look 20 ms later.
            // The event then goes to the old stream inside that rotation's overlap, which holds it until the overlap ends
            // on the fake clock: follow the rotation while waiting (before, the test waited on a clock that stood still,
            // and failed on a loaded machine).
            await stream.WriteRecordAsync("announcements/*", "create", $"m{minute}");
            var read = subscriber.Events.Reader.ReadAsync().AsTask();
            var deadline = DateTime.UtcNow + Timeout;
            while (await Task.WhenAny(read, Task.Delay(50)) != read)
            {
                Assert.True(DateTime.UtcNow < deadline, $"m{minute} was not delivered");
                await FollowRotationsAsync();
            }

            Assert.Equal($"m{minute}", (await read).Record.GetProperty("id").GetString());
            delivered++;
        }

        Assert.Equal(30, delivered);
        Assert.Equal(0, pocketBase.ClosedByLimit);
        Assert.Equal(0, subscriber.Resubscribed);
        Assert.All(rotations.GetMeasurementSnapshot(), m => Assert.Equal("lifetime", m.Tags["reason"]));
        Assert.InRange(rotations.GetMeasurementSnapshot().Count, 2, 3);
    }

    [Fact]
    public async Task RotationFails_OldStreamKept_RetriedWithoutResync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var failures = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotation_failures");
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        pocketBase.StreamStatus = HttpStatusCode.ServiceUnavailable;
        await AdvanceUntilAsync(time, () => failures.GetMeasurementSnapshot().Count > 0 ? (object?)true : null, TimeSpan.FromSeconds(10));
        await first.WriteRecordAsync("announcements/*", "create", "still-old");
        Assert.Equal("still-old", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());

        // The event reset the idle clock: the next attempt comes 4 min 30 s after it.
        pocketBase.StreamStatus = HttpStatusCode.OK;
        await AdvanceUntilAsync(time, () => rotations.GetMeasurementSnapshot().Count == 1 ? (object?)true : null, TimeSpan.FromSeconds(10));
        Assert.Equal(0, subscriber.Resubscribed);
    }

    [Fact]
    public async Task RefusedTopics_FoundByBisection_OnlyTheyFail_StreamAndOtherTopicsKept()
    {
        var pocketBase = new FakePocketBase { PostResponder = FakePocketBase.CurrentPocketBaseValidation };
        var subscriber = new FakeSubscriber("token", "a/*", "b/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;
        connection.Start();
        var stream = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);

        var tooLong1 = "c/*?options=" + new string('x', 2500);
        var tooLong2 = "d/*?options=" + new string('y', 2500);
        subscriber.SetTopics("a/*", "b/*", tooLong1, "e/*", "f/*", tooLong2, "g/*");
        var version = subscriber.Version;
        var refused1 = connection.WaitForSyncAsync(version, CancellationToken.None, tooLong1);
        var refused2 = connection.WaitForSyncAsync(version, CancellationToken.None, tooLong2);
        var accepted = connection.WaitForSyncAsync(version, CancellationToken.None, "e/*");

        Assert.Equal(tooLong1, (await Assert.ThrowsAsync<TopicRefusedException>(() => refused1.WaitAsync(Timeout))).UpstreamTopic);
        Assert.Equal(tooLong2, (await Assert.ThrowsAsync<TopicRefusedException>(() => refused2.WaitAsync(Timeout))).UpstreamTopic);
        await accepted.WaitAsync(Timeout);

        Assert.Equal([tooLong1, tooLong2], subscriber.Refused.Order());
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);
        var posts = new List<string[]>();
        while (pocketBase.Posts.Reader.TryRead(out var post))
        {
            Assert.Equal(stream.ClientId, post.ClientId);
            posts.Add(post.Topics);
        }

        // Every accepted POST kept the topics PocketBase already held: nobody else's events stopped.
        Assert.All(posts, topics => Assert.Contains("a/*", topics));
        Assert.All(posts, topics => Assert.Contains("b/*", topics));
        Assert.Equal(["a/*", "b/*", "e/*", "f/*", "g/*"], posts[^1].Order());

        // Same stream, no resync, and it still delivers.
        Assert.False(pocketBase.Streams.Reader.TryRead(out var _));
        Assert.Equal(0, subscriber.Resubscribed);
        await stream.WriteRecordAsync("a/*", "create", "r1");
        Assert.Equal("r1", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task RefusalNotAboutATopic_NoTopicIsBlamed_StreamStartsOver()
    {
        var refuseAll = false;
        var pocketBase = new FakePocketBase { PostResponder = (_, _) => Volatile.Read(ref refuseAll) ? HttpStatusCode.Forbidden : null };
        var subscriber = new FakeSubscriber("token", "a/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber);
        await using var _ = connection;
        using var __ = metrics;
        connection.Start();
        var first = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None).WaitAsync(Timeout);

        // Current PocketBase answers 403 to every POST once the client id is tied to another address or the token
        // changed hands: the set it already held is refused too, so this is not the new topic's fault.
        Volatile.Write(ref refuseAll, true);
        subscriber.SetTopics("a/*", "b/*");
        var waiting = connection.WaitForSyncAsync(subscriber.Version, CancellationToken.None, "b/*");
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => waiting.WaitAsync(Timeout));
        Assert.IsNotType<TopicRefusedException>(failure);
        Assert.Empty(subscriber.Refused);
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.NotEqual(first.ClientId, second.ClientId);
    }

    [Fact]
    public async Task ConnectFailuresOfOneSession_DoNotTripAnotherSessionsCircuit()
    {
        var pocketBase = new FakePocketBase
        {
            PostResponder = (_, authorization) => authorization == "broken" ? HttpStatusCode.InternalServerError : null,
        };
        UpstreamConnectPipeline? shared = null;
        UpstreamConnectPipeline Shared(Microsoft.Extensions.Options.IOptions<PocketBaseOptions> options, TimeProvider time, TestMetrics metrics)
            => shared ??= new UpstreamConnectPipeline(options, time, metrics.Metrics);
        var brokenSubscriber = new FakeSubscriber("broken", "a/*");
        var (broken, brokenMetrics) = UpstreamConnectionTests.Create(pocketBase, brokenSubscriber, pipelineFactory: Shared);
        await using var _ = broken;
        using var __ = brokenMetrics;
        using var brokenFailures = new MetricCollector<long>(brokenMetrics.MeterFactory, "Relay", "relay.upstream.connect_failures");
        broken.Start();
        var deadline = DateTime.UtcNow + Timeout;
        while (brokenFailures.GetMeasurementSnapshot().Count < 30)
        {
            Assert.True(DateTime.UtcNow < deadline, "the broken session did not keep retrying");
            await Task.Delay(20);
        }

        // Both sessions get their pipeline from the same factory; the healthy one connects on its first attempt (a failed
        // attempt, such as a shared open circuit's, would fail this waiter).
        var healthySubscriber = new FakeSubscriber("fine", "b/*");
        var (healthy, healthyMetrics) = UpstreamConnectionTests.Create(pocketBase, healthySubscriber, pipelineFactory: Shared);
        await using var ___ = healthy;
        using var ____ = healthyMetrics;
        var synced = healthy.WaitForSyncAsync(healthySubscriber.Version, CancellationToken.None);
        healthy.Start();
        await synced.WaitAsync(Timeout);
    }

    /// <summary>Advances the fake clock in <paramref name="step"/>s until <paramref name="probe"/> returns a value; a hang fails after a real-time timeout.</summary>
    internal static async Task<T> AdvanceUntilAsync<T>(FakeTimeProvider time, Func<T?> probe, TimeSpan step)
        where T : class
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            time.Advance(step);
            await Task.Delay(20);
        }
    }
}
