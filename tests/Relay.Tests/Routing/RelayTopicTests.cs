using Relay.Routing;

namespace Relay.Tests.Routing;

public class RelayTopicTests
{
    [Theory]
    [InlineData("notes/*", "notes", null)]
    [InlineData("notes/abc123def456ghi", "notes", "abc123def456ghi")]
    [InlineData("_pb_users_auth_/x-y_z", "_pb_users_auth_", "x-y_z")]
    public void TryParse_ValidTopic_ReturnsParts(string text, string collection, string? recordId)
    {
        Assert.True(RelayTopic.TryParse(text, out var topic, out var error), error);
        Assert.Equal(collection, topic.Collection);
        Assert.Equal(recordId, topic.RecordId);
        Assert.Equal(text, topic.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("notes")]
    [InlineData("/*")]
    [InlineData("notes/")]
    [InlineData("notes/*?options={}")]
    [InlineData("notes/a/b")]
    [InlineData("notes/a b")]
    [InlineData("no tes/*")]
    [InlineData("notes/**")]
    [InlineData("notes/abc?x=1")]
    [InlineData("notes/%2A")]
    public void TryParse_InvalidTopic_ReturnsFalseWithReason(string? text)
    {
        Assert.False(RelayTopic.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void TryParse_TooLongRecordId_ReturnsFalse()
    {
        Assert.False(RelayTopic.TryParse("notes/" + new string('a', RelayTopic.MaxPartLength + 1), out _, out _));
        Assert.True(RelayTopic.TryParse("notes/" + new string('a', RelayTopic.MaxPartLength), out _, out _));
    }
}
