using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Routing;

namespace Relay.Tests.Routing;

public class TopicSubscriptionFactoryTests
{
    private static TopicSubscriptionFactory Create(Action<RelayOptions>? configure = null)
    {
        var options = new RelayOptions();
        configure?.Invoke(options);
        return new TopicSubscriptionFactory(Options.Create(options));
    }

    [Fact]
    public void Create_NoOptions_UpstreamTopicIsBareTopic()
    {
        var subscription = Create().Create("notes/*", null);

        Assert.Equal("notes/*", subscription.Topic);
        Assert.Equal("notes/*", subscription.UpstreamTopic);
    }

    [Fact]
    public void Create_EmptyOptions_UpstreamTopicIsBareTopic()
    {
        var subscription = Create().Create("notes/*", new SubscriptionOptions { Query = new Dictionary<string, string>() });

        Assert.Equal("notes/*", subscription.UpstreamTopic);
    }

    [Fact]
    public void Create_WithOptions_EncodesThemLikePocketBaseSdk()
    {
        var subscription = Create().Create("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["expand"] = "owner", ["filter"] = "title ~ 'a b'" },
        });

        Assert.Equal("notes/*", subscription.Topic);
        Assert.Equal(
            "notes/*?options=" + Uri.EscapeDataString("""{"query":{"expand":"owner","filter":"title ~ \u0027a b\u0027"}}"""),
            subscription.UpstreamTopic);
    }

    [Fact]
    public void Create_SameOptionsInAnyOrder_SameUpstreamTopic()
    {
        var factory = Create();
        var first = factory.Create("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" },
            Headers = new Dictionary<string, string> { ["x-h"] = "v" },
        });
        var second = factory.Create("notes/*", new SubscriptionOptions
        {
            Headers = new Dictionary<string, string> { ["x-h"] = "v" },
            Query = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" },
        });

        Assert.Equal(first.UpstreamTopic, second.UpstreamTopic);
    }

    [Fact]
    public void Create_InvalidTopic_ThrowsInvalidTopic()
    {
        var ex = Assert.Throws<SubscriptionException>(() => Create().Create("notes", null));

        Assert.Equal(RelayErrorCodes.InvalidTopic, ex.Code);
        Assert.Contains("expected COLLECTION", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_CollectionOutsideAllowList_ThrowsTopicNotAllowed()
    {
        var factory = Create(o => o.AllowedCollections = ["notes"]);

        Assert.Equal("notes/*", factory.Create("notes/*", null).Topic);
        var ex = Assert.Throws<SubscriptionException>(() => factory.Create("secrets/*", null));
        Assert.Equal(RelayErrorCodes.TopicNotAllowed, ex.Code);
    }

    [Fact]
    public void Create_OptionsTooLong_ThrowsInvalidOptions()
    {
        var factory = Create(o => o.MaxOptionsLength = 50);

        var ex = Assert.Throws<SubscriptionException>(() => factory.Create("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["filter"] = new string('x', 60) },
        }));
        Assert.Equal(RelayErrorCodes.InvalidOptions, ex.Code);
    }

    [Fact]
    public void Create_OptionWithoutValue_ThrowsInvalidOptions()
    {
        var ex = Assert.Throws<SubscriptionException>(() => Create().Create("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["expand"] = null! },
        }));
        Assert.Equal(RelayErrorCodes.InvalidOptions, ex.Code);
    }

    [Fact]
    public void Create_EncodedTopicLongerThanPocketBaseAccepts_ThrowsInvalidOptions()
    {
        // 900 characters of JSON pass MaxOptionsLength, but spaces triple when URL-encoded: PocketBase (0.23+) would
        // refuse the whole subscription POST for a topic over 2,500 characters.
        var filter = new string(' ', 880);
        var ex = Assert.Throws<SubscriptionException>(() => Create().Create("notes/*", new SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["filter"] = filter },
        }));
        Assert.Equal(RelayErrorCodes.InvalidOptions, ex.Code);
        Assert.Contains("2500", ex.Message, StringComparison.Ordinal);

        var fits = Create().Create("notes/*", new SubscriptionOptions { Query = new Dictionary<string, string> { ["filter"] = new string(' ', 700) } });
        Assert.True(fits.UpstreamTopic.Length <= TopicSubscriptionFactory.MaxUpstreamTopicLength);
    }
}
