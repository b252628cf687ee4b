using Microsoft.AspNetCore.SignalR.Protocol;

namespace Relay.Fanout;

/// <summary>
/// Several queued messages as the bytes of one write: each message's cached frame for the connection's protocol, in
/// order, so the client reads exactly the frames it would have read one by one (SignalR frames delimit themselves).
/// Given an <see cref="EventsFrame"/> (protocol version 2), each run of consecutive events becomes one <c>Events</c> frame;
/// control messages (<c>Resync</c>, <c>AuthExpired</c>) keep their place between the runs.
/// </summary>
internal static class OutboundBatch
{
    public static void Write(ReadOnlySpan<OutboundMessage> messages, IHubProtocol protocol, EventsFrame? events, PooledBuffer output)
    {
        var i = 0;
        while (i < messages.Length)
        {
            var run = EventRun(messages[i..], events);
            if (run >= 2)
            {
                events!.Write(messages.Slice(i, run), output);
                i += run;
                continue;
            }

            output.Write(messages[i].Message.GetSerializedMessage(protocol).Span);
            i++;
        }
    }

    /// <summary>How many messages at the start of <paramref name="messages"/> are events that go into one <c>Events</c> frame (0 without <paramref name="events"/>).</summary>
    public static int EventRun(ReadOnlySpan<OutboundMessage> messages, EventsFrame? events)
    {
        var run = 0;
        if (events is not null)
        {
            while (run < messages.Length && EventsFrame.IsEvent(messages[run]))
            {
                run++;
            }
        }

        return run;
    }
}
