using Relay.Client.Protocol;

namespace Relay.Client.Tests.Connection;

public class SubscriptionOptionsComparerTests
{
    [Fact]
    public void Equal_NullAndEmptyAreTheSame() =>
        Assert.True(SubscriptionOptionsComparer.Equal(null, new SubscriptionOptions { Query = new Dictionary<string, string>() }));

    [Fact]
    public void Equal_SameEntriesInAnyOrder() => Assert.True(SubscriptionOptionsComparer.Equal(
        new SubscriptionOptions { Query = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } },
        new SubscriptionOptions { Query = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" } }));

    [Fact]
    public void Equal_DifferentValueOrSection_NotEqual()
    {
        Assert.False(SubscriptionOptionsComparer.Equal(
            new SubscriptionOptions { Query = new Dictionary<string, string> { ["a"] = "1" } },
            new SubscriptionOptions { Query = new Dictionary<string, string> { ["a"] = "2" } }));
        Assert.False(SubscriptionOptionsComparer.Equal(
            new SubscriptionOptions { Query = new Dictionary<string, string> { ["a"] = "1" } },
            new SubscriptionOptions { Headers = new Dictionary<string, string> { ["a"] = "1" } }));
    }
}
