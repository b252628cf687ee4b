using Relay.Routing;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

/// <summary>How a session's subscriptions reach PocketBase when a connection changes or repeats them.</summary>
public class SubscriptionOrderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task OptionsChangedToATopicAlreadyHeldOnTheSameStream_OldTopicIsDroppedFromPocketBase()
    {
        await using var harness = new SessionHarness();
        var first = harness.NewConnection();
        var second = harness.NewConnection();
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromDays(1);
        var key = new SessionKey(SessionHarness.UsersCollection, "alice");
        var session = harness.Manager.Attach(first, key, SessionHarness.Token("alice", expiresAt), expiresAt);
        harness.Manager.Attach(second, key, SessionHarness.Token("alice", expiresAt), expiresAt);
        var a = new TopicSubscription("notes/*", "notes/*?options=a");
        var b = new TopicSubscription("notes/*", "notes/*?options=b");
        await session.SubscribeAsync(first, a, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        await session.SubscribeAsync(second, b, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);
        while (harness.PocketBase.Posts.Reader.TryRead(out _))
        {
        }

        // The first connection switches to the options the second already holds on the same stream.
        await session.SubscribeAsync(first, b, 100, Timeout, CancellationToken.None).WaitAsync(Timeout);

        var post = await harness.PocketBase.Posts.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(["notes/*?options=b"], post.Topics);
    }
}
