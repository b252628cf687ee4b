using Relay.Routing;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

/// <summary>
/// A guest topic subscribed with <c>since</c> goes to the stream whose history the offset is of (cluster mode: each
/// stream has its own Redis Stream), so its replay and its live events come from one history.
/// </summary>
public class GuestSinceRoutingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task SinceOfTheThirdStream_RoutedThere_ThatStreamFull_AnotherAndNotRecovered()
    {
        var log = new StreamNamingLog(new MemorySessionEventLog(new HistoryOptions(), TimeProvider.System));
        await using var harness = new SessionHarness(
            configure: o =>
            {
                o.GuestTopicsPerStream = 1;
                o.MaxGuestStreams = 3;
            },
            eventLogs: log);
        var connection = harness.NewConnection();
        var session = harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);

        var first = await session.SubscribeAsync(connection, Topic("t0"), "s2", 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        var second = await session.SubscribeAsync(connection, Topic("t1"), "s2", 100, Timeout, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal([("s2", "guest#2"), ("s2", "guest")], log.Reads);
        Assert.True(first.Recovered, "Routed to the stream its offset is of.");
        Assert.False(second.Recovered, "That stream is full: another stream, whose history the offset is not of.");
        Assert.Equal(2, session.StreamCount);
    }

    private static TopicSubscription Topic(string recordId) => new($"notes/{recordId}", $"notes/{recordId}");
}
