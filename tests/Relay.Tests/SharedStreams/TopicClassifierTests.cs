using Relay.Client.Protocol;
using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

public sealed class TopicClassifierTests
{
    private static readonly CollectionRuleSet Rules = new(
        [
            new CollectionRule("pbc_posts", "posts", isAuth: false, listRule: "@request.auth.id != ''", viewRule: "owner = @request.auth.id"),
            new CollectionRule("pbc_news", "news", isAuth: false, listRule: "", viewRule: ""),
            new CollectionRule("pbc_secrets", "secrets", isAuth: false, listRule: null, viewRule: null),
            new CollectionRule("_pb_users_auth_", "users", isAuth: true, listRule: "", viewRule: ""),
        ],
        DateTimeOffset.UnixEpoch);

    [Fact]
    public void Classify_Wildcard_ListRule_RecordTopic_ViewRule()
    {
        Assert.True(TopicClassifier.Classify(Rules, "posts", wildcard: true, options: null).IsShared);
        Assert.Equal(RuleClassKind.PerUser, TopicClassifier.Classify(Rules, "posts", wildcard: false, options: null).Kind);
    }

    [Fact]
    public void Classify_CollectionById_SameAsByName()
        => Assert.Equal(new[] { "id" }, TopicClassifier.Classify(Rules, "pbc_posts", wildcard: true, options: null).AuthFields);

    [Fact]
    public void Classify_AuthCollection_NeverShared()
    {
        var result = TopicClassifier.Classify(Rules, "users", wildcard: true, options: null);

        Assert.Equal(RuleClassKind.PerUser, result.Kind);
        Assert.Contains("auth collection", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_UnknownCollectionOrNoRules_PerUser()
    {
        Assert.Equal(RuleClassKind.PerUser, TopicClassifier.Classify(Rules, "Posts", wildcard: true, options: null).Kind);
        Assert.Equal(RuleClassKind.PerUser, TopicClassifier.Classify(CollectionRuleSet.Empty, "posts", wildcard: true, options: null).Kind);
    }

    [Fact]
    public void Classify_NullRule_SuperusersOnly()
        => Assert.Equal(RuleClassKind.SuperusersOnly, TopicClassifier.Classify(Rules, "secrets", wildcard: true, options: null).Kind);

    [Theory]
    [InlineData("fields", "id,title")]
    [InlineData("filter", "status = 'published' && views > 10")]
    [InlineData("filter", "")]
    [InlineData("expand", "")]
    public void Classify_OptionsTheSameForEveryone_StillShared(string key, string value)
    {
        var options = new SubscriptionOptions { Query = new Dictionary<string, string> { [key] = value } };

        Assert.True(TopicClassifier.Classify(Rules, "news", wildcard: true, options).IsShared);
    }

    [Theory]
    [InlineData("expand", "owner")]
    [InlineData("filter", "@request.auth.role = 'editor'")]
    [InlineData("filter", "owner = @request.auth.id")]
    [InlineData("filter", "owner.name = 'x'")]
    [InlineData("sort", "-created")]
    public void Classify_OptionsThatDependOnTheSubscriber_PerUser(string key, string value)
    {
        var options = new SubscriptionOptions { Query = new Dictionary<string, string> { [key] = value } };

        var result = TopicClassifier.Classify(Rules, "news", wildcard: true, options);

        Assert.Equal(RuleClassKind.PerUser, result.Kind);
        Assert.NotNull(result.Reason);
    }

    [Fact]
    public void Classify_OptionsWithHeaders_PerUser()
    {
        var options = new SubscriptionOptions { Headers = new Dictionary<string, string> { ["x-tenant"] = "a" } };

        Assert.Contains("headers", TopicClassifier.Classify(Rules, "news", wildcard: true, options).Reason, StringComparison.Ordinal);
    }
}
