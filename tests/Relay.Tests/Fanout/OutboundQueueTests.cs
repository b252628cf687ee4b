using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public class OutboundQueueTests
{
    private static OutboundMessage Event(string record, int version) => new(new SerializedHubMessage(new InvocationMessage("Event", [record, version])), $"notes/*\n{record}");

    private static OutboundMessage Control(string name) => OutboundMessage.Control(new SerializedHubMessage(new InvocationMessage(name, [])));

    private static List<OutboundMessage> Drain(OutboundQueue queue)
    {
        var items = new List<OutboundMessage>();
        while (queue.Reader.TryRead(out var item))
        {
            items.Add(item);
        }

        return items;
    }

    [Fact]
    public void Enqueue_WithRoom_Queues()
    {
        var queue = new OutboundQueue(4);

        Assert.Equal(EnqueueResult.Queued, queue.Enqueue(Event("a", 1)));
        Assert.Equal(1, queue.Count);
    }

    [Fact]
    public void Enqueue_FullOfUpdatesToFewRecords_CompactsToLatestPerRecordInOrder()
    {
        var queue = new OutboundQueue(8);
        var control = Control("Resync");
        var sequence = new[] { Event("a", 1), Event("b", 1), control, Event("a", 2), Event("c", 1), Event("b", 2), Event("a", 3), Event("b", 3) };
        foreach (var message in sequence)
        {
            Assert.Equal(EnqueueResult.Queued, queue.Enqueue(message));
        }

        var latestC = Event("c", 2);
        Assert.Equal(EnqueueResult.Compacted, queue.Enqueue(latestC));

        // Latest of each record at the position of its last occurrence; the control message is kept.
        Assert.Equal([control, sequence[6], sequence[7], latestC], Drain(queue));
    }

    [Fact]
    public void Enqueue_FullOfDistinctRecords_DropsEventsButKeepsControlMessages()
    {
        var queue = new OutboundQueue(8);
        var control = Control("AuthExpired");
        queue.Enqueue(control);
        for (var i = 0; i < 7; i++)
        {
            queue.Enqueue(Event($"r{i}", 1));
        }

        Assert.Equal(EnqueueResult.Dropped, queue.Enqueue(Event("r7", 1)));
        Assert.Equal([control], Drain(queue));
    }

    [Fact]
    public void EnqueueControl_WhenFull_MakesRoom()
    {
        var queue = new OutboundQueue(2);
        queue.Enqueue(Event("a", 1));
        queue.Enqueue(Event("b", 1));
        var resync = Control("Resync");

        Assert.True(queue.EnqueueControl(resync));

        Assert.Equal([resync], Drain(queue));
    }

    [Fact]
    public void EnqueueControl_WhenFull_KeepsQueuedControlMessages_ReportsDroppedEvents()
    {
        var queue = new OutboundQueue(3);
        var authExpired = Control("AuthExpired");
        queue.Enqueue(Event("a", 1));
        queue.EnqueueControl(authExpired);
        queue.Enqueue(Event("b", 1));
        var resync = Control("Resync");

        // The events are gone, so the caller must be told (it owes the connection a Resync of all its topics).
        Assert.True(queue.EnqueueControl(resync));
        Assert.Equal([authExpired, resync], Drain(queue));
        Assert.False(queue.EnqueueControl(resync));
    }

    [Fact]
    public async Task Enqueue_SeveralProducersOnAFullQueue_KeepEachProducersOrderAndLatestValues()
    {
        // A guest connection's topics live on several streams, each with its own delivery loop: producers run at once.
        // Nobody reads, so the queue stays full and nearly every write drains and rebuilds it (compaction).
        var queue = new OutboundQueue(16);
        const int PerProducer = 200_000;
        using var start = new Barrier(2);
        var producers = Enumerable.Range(0, 2).Select(p => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerProducer; i++)
            {
                queue.Enqueue(new OutboundMessage(new SerializedHubMessage(new InvocationMessage("Event", [p, i])), $"p{p}\n{i % 4}"));
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(120));

        // Each producer's events in order (what is left after the last compaction plus what fitted since, up to the
        // capacity), ending with the latest value of each of its four records.
        var seen = new[] { new List<int>(), new List<int>() };
        foreach (var message in Drain(queue))
        {
            var arguments = ((InvocationMessage)message.Message.Message!).Arguments;
            seen[(int)arguments[0]!].Add((int)arguments[1]!);
        }

        foreach (var indices in seen)
        {
            Assert.Equal(indices.Order(), indices);
            Assert.Equal(indices.Count, indices.Distinct().Count());
            Assert.Equal([PerProducer - 4, PerProducer - 3, PerProducer - 2, PerProducer - 1], indices[^4..]);
        }
    }

    [Fact]
    public void Compact_ThousandsOfUpdatesToOneRecord_KeepsOne()
    {
        var backlog = Enumerable.Range(0, 5000).Select(i => Event("hot", i)).ToList();

        var compacted = OutboundQueue.Compact(backlog);

        Assert.Equal([backlog[^1]], compacted);
    }
}
