using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public class FanoutDispatcherTests
{
    private sealed class RecordingRecipient : IEventRecipient
    {
        public List<SerializedHubMessage> Received { get; } = [];

        public void Enqueue(OutboundMessage message) => Received.Add(message.Message);
    }

    [Fact]
    public async Task DispatchAsync_ThousandRecipients_ChunksOfAtMost300_EveryRecipientInOrder()
    {
        using var metrics = new TestMetrics();
        using var chunkSizes = new MetricCollector<int>(metrics.MeterFactory, "Relay", "relay.fanout.chunk.size");
        var dispatcher = new FanoutDispatcher(Options.Create(new FanoutOptions { ChunkSize = 300 }), metrics.Metrics);
        var recipients = Enumerable.Range(0, 1000).Select(_ => new RecordingRecipient()).ToArray();
        var messages = Enumerable.Range(0, 50)
            .Select(i => new SerializedHubMessage(new InvocationMessage("Event", [i])))
            .ToArray();

        foreach (var message in messages)
        {
            await dispatcher.DispatchAsync(recipients, new OutboundMessage(message, null), metrics.Metrics.GetTimestamp()).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.All(recipients, recipient => Assert.Equal(messages, recipient.Received));
        var sizes = chunkSizes.GetMeasurementSnapshot().Select(m => m.Value).ToArray();
        Assert.Equal(50 * 4, sizes.Length);
        Assert.All(sizes, size => Assert.InRange(size, 1, 300));
        Assert.Equal(50 * 1000, sizes.Sum());
    }

    [Fact]
    public async Task DispatchAsync_FewRecipients_OneChunkCompletedSynchronously()
    {
        using var metrics = new TestMetrics();
        using var chunkSizes = new MetricCollector<int>(metrics.MeterFactory, "Relay", "relay.fanout.chunk.size");
        var dispatcher = new FanoutDispatcher(Options.Create(new FanoutOptions()), metrics.Metrics);
        var recipients = new[] { new RecordingRecipient(), new RecordingRecipient(), new RecordingRecipient() };

        var pending = dispatcher.DispatchAsync(recipients, new OutboundMessage(new SerializedHubMessage(new InvocationMessage("Event", [])), null), 0);

        Assert.True(pending.IsCompletedSuccessfully);
        await pending;
        Assert.All(recipients, r => Assert.Single(r.Received));
        Assert.Equal([3], chunkSizes.GetMeasurementSnapshot().Select(m => m.Value));
    }
}
