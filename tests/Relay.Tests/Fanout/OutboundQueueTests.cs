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

        queue.EnqueueControl(resync);

        Assert.Equal([resync], Drain(queue));
    }

    [Fact]
    public void Compact_ThousandsOfUpdatesToOneRecord_KeepsOne()
    {
        var backlog = Enumerable.Range(0, 5000).Select(i => Event("hot", i)).ToList();

        var compacted = OutboundQueue.Compact(backlog);

        Assert.Equal([backlog[^1]], compacted);
    }
}
