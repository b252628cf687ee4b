using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using static Relay.Tests.Upstream.UpstreamRotationTests;
using static Relay.Tests.TestWait;

namespace Relay.Tests.Upstream;

/// <summary>Streams that end or hang around a rotation: the loss is noticed and resynced, never waited on forever.</summary>
public class UpstreamStreamLossTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task FirstConnect_GetNeverAnswered_FailsAfterRequestTimeoutAndRetries()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase { HangStreams = true };
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var failures = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.connect_failures");
        connection.Start();

        await AdvanceUntilAsync(time, () => failures.GetMeasurementSnapshot().Count > 0 ? (object?)true : null, TimeSpan.FromSeconds(1));
        pocketBase.HangStreams = false;
        var stream = await AdvanceUntilAsync(time, () => pocketBase.Streams.Reader.TryRead(out var s) ? s : null, TimeSpan.FromSeconds(1));
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await stream.WriteRecordAsync("announcements/*", "create", "r1");
        Assert.Equal("r1", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task RotationGetNeverAnswered_RotationGivesUp_OldStreamKeptAndNotRecorded()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var rotationFailures = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotation_failures");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        // PocketBase accepts the rotation's connection and never answers it.
        pocketBase.HangStreams = true;
        await AdvanceUntilAsync(time, () => rotationFailures.GetMeasurementSnapshot().Count > 0 ? (object?)true : null, TimeSpan.FromSeconds(5));
        Assert.Equal(2, pocketBase.Requests.Count(static r => r == "GET /api/realtime"));

        await first.WriteRecordAsync("announcements/*", "create", "still-old");
        Assert.Equal("still-old", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
        Assert.Equal(0, subscriber.Resubscribed);
    }

    [Fact]
    public async Task OldStreamEndsWhileRotationWaitsForItsGet_LossHandledAtOnceWithResync()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time, configure: o => o.RequestTimeout = TimeSpan.FromMinutes(5));
        await using var _ = connection;
        using var __ = metrics;
        using var lost = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.streams_lost");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        pocketBase.HangStreams = true;
        await AdvanceUntilAsync(time, () => pocketBase.Requests.Count(static r => r == "GET /api/realtime") == 2 ? (object?)true : null, TimeSpan.FromSeconds(10));

        // The old stream ends while the rotation still waits (its timeout is 5 min of a clock that no longer moves).
        pocketBase.HangStreams = false;
        first.Close();
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) == 1);
        Assert.Single(lost.GetMeasurementSnapshot());
        await pocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await second.WriteRecordAsync("announcements/*", "create", "r1");
        Assert.Equal("r1", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
    }

    [Fact]
    public async Task OldStreamEndsAfterTheNewOneWasAccepted_BeforeItsRetirement_ResyncNotPlannedRotation()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "announcements/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var lost = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.streams_lost");
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        var second = await AdvanceUntilAsync(time, () => pocketBase.Streams.Reader.TryRead(out var s) ? s : null, TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => connection.ClientId == second.ClientId);

        // The new stream's subscriptions are accepted; the old stream ends in the overlap, before Relay retires it (the
        // overlap runs on a clock that no longer moves).
        first.Close();
        await WaitUntilAsync(() => Volatile.Read(ref subscriber.Resubscribed) == 1);
        Assert.Single(lost.GetMeasurementSnapshot());
        Assert.Empty(rotations.GetMeasurementSnapshot());
        await second.WriteRecordAsync("announcements/*", "create", "r1");
        Assert.Equal("r1", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("id").GetString());
        Assert.False(pocketBase.Streams.Reader.TryRead(out var _));
    }

    [Fact]
    public async Task EventDeliveredBeforeTheNewStreamsPost_SameChangeAgainRightAfterTheRotation_IsDelivered()
    {
        var time = new FakeTimeProvider();
        var pocketBase = new FakePocketBase();
        var subscriber = new FakeSubscriber(null, "notes/*");
        var (connection, metrics) = UpstreamConnectionTests.Create(pocketBase, subscriber, timeProvider: time);
        await using var _ = connection;
        using var __ = metrics;
        using var rotations = new MetricCollector<long>(metrics.MeterFactory, "Relay", "relay.upstream.rotations");
        var first = await UpstreamConnectionTests.StartAsync(connection, pocketBase);

        // The rotation's GET is held: the old stream delivers a change before the new stream is even open.
        var opening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pocketBase.BeforeStreamAnswered = () => opening.Task;
        await AdvanceUntilAsync(time, () => pocketBase.Requests.Count(static r => r == "GET /api/realtime") == 2 ? (object?)true : null, TimeSpan.FromSeconds(10));
        await first.WriteRecordAsync("notes/*", "update", "n1", "on");
        Assert.Equal("on", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("title").GetString());
        opening.SetResult();
        var second = await pocketBase.Streams.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await AdvanceUntilAsync(time, () => rotations.GetMeasurementSnapshot().Count == 1 ? (object?)true : null, TimeSpan.FromMilliseconds(500));

        // Right after the rotation the value flips off and back on: both are real changes (the second has the same
        // JSON as the one the old stream delivered, as on PocketBase 0.23+ without an `updated` field).
        await second.WriteRecordAsync("notes/*", "update", "n1", "off");
        await second.WriteRecordAsync("notes/*", "update", "n1", "on");
        Assert.Equal("off", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("title").GetString());
        Assert.Equal("on", (await subscriber.Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Record.GetProperty("title").GetString());
    }
}
