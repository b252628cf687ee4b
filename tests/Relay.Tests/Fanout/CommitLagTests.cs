using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.SharedStreams;

namespace Relay.Tests.Fanout;

public class CommitLagTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 10, 0, 1, 250, TimeSpan.Zero);

    [Theory]
    // 0.22.20 and 0.40.4 both send this form (checked live: CommitLagLiveTests).
    [InlineData("2026-12-07 10:00:00.123Z", 123)]
    [InlineData("2026-12-07 10:00:00Z", 0)]
    [InlineData("2026-12-07T10:00:00.123Z", 123)]
    [InlineData("2026-12-07 10:00:00.123456Z", 123)]
    public void TryParse_BothVersionsTextForms_Utc(string text, int milliseconds)
    {
        Assert.True(CommitLagRecorder.TryParse(text, out var value));
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 0, 0, milliseconds, TimeSpan.Zero), value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond)));
        Assert.Equal(TimeSpan.Zero, value.Offset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2026-13-07 10:00:00.123Z")]
    [InlineData(null)]
    public void TryParse_NotATime_False(string? text) => Assert.False(CommitLagRecorder.TryParse(text, out _));

    [Fact]
    public async Task Dispatch_CreateAndUpdate_OneObservationPerEventWhateverTheRecipients_DeleteNone()
    {
        var (dispatcher, lag, metrics) = Create();
        using (metrics)
        using (lag)
        {
            var recipients = new[] { new NullRecipient(), new NullRecipient(), new NullRecipient() };
            await dispatcher.DispatchAsync(recipients, Message(), 0, "posts", Event("create", "2026-12-07 10:00:00.250Z")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            await dispatcher.DispatchAsync(recipients, Message(), 0, "posts", Event("update", "2026-12-07 10:00:01.000Z")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            await dispatcher.DispatchAsync(recipients, Message(), 0, "posts", Event("delete", "2026-12-07 09:00:00.000Z")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

            var measurements = lag.GetMeasurementSnapshot();
            Assert.Equal(new[] { 1000d, 250d }, measurements.Select(m => m.Value));
            Assert.All(measurements, m => Assert.Equal("posts", m.Tags["collection"]));
        }
    }

    [Fact]
    public async Task Dispatch_NoRecipientsNoUpdatedOrClockBehind_NothingOrZero()
    {
        var (dispatcher, lag, metrics) = Create();
        using (metrics)
        using (lag)
        {
            await dispatcher.DispatchAsync([], Message(), 0, "posts", Event("create", "2026-12-07 10:00:00.250Z")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            await dispatcher.DispatchAsync([new NullRecipient()], Message(), 0, "posts", Event("create", null)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            // PocketBase's clock ahead of Relay's: skew, not a negative lag.
            await dispatcher.DispatchAsync([new NullRecipient()], Message(), 0, null, Event("create", "2026-12-07 10:00:05.000Z")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

            var measurement = Assert.Single(lag.GetMeasurementSnapshot());
            Assert.Equal(0d, measurement.Value);
            Assert.Equal("posts", measurement.Tags["collection"]);
        }
    }

    private static (FanoutDispatcher Dispatcher, MetricCollector<double> Lag, TestMetrics Metrics) Create()
    {
        var metrics = new TestMetrics();
        var shared = new SharedStreamsMetrics(metrics.MeterFactory);
        var commitLag = new CommitLagRecorder(shared.CommitLag, new FakeTimeProvider(Now));
        var collector = new MetricCollector<double>(shared.CommitLag);
        return (new FanoutDispatcher(Options.Create(new FanoutOptions()), metrics.Metrics, commitLag), collector, metrics);
    }

    private static OutboundMessage Message() => new(new Microsoft.AspNetCore.SignalR.SerializedHubMessage(new Microsoft.AspNetCore.SignalR.Protocol.InvocationMessage("Event", [])), null);

    private static RelayEvent Event(string action, string? updated)
    {
        var record = updated is null
            ? new Dictionary<string, object> { ["id"] = "r1", ["collectionName"] = "posts" }
            : new Dictionary<string, object> { ["id"] = "r1", ["collectionName"] = "posts", ["updated"] = updated };
        return new RelayEvent { Topic = "posts/*", Action = action, Record = JsonSerializer.SerializeToElement(record) };
    }

    private sealed class NullRecipient : IEventRecipient
    {
        public void Enqueue(OutboundMessage message)
        {
        }
    }
}
