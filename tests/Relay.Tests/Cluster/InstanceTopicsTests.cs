using Relay.Cluster;
using Relay.Upstream;

namespace Relay.Tests.Cluster;

public class InstanceTopicsTests
{
    [Fact]
    public void FormatThenParse_KeepsVersionExpiryAndTopicsWithOptions()
    {
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123);
        string[] topics = ["notes/*", "notes/abc?options={\"filter\":\"title='a|b'\"}"];

        var parsed = InstanceTopics.Parse(InstanceTopics.Format(new TopicSnapshot(topics, 42), expiresAt));

        Assert.NotNull(parsed);
        Assert.Equal(42, parsed.Value.Version);
        Assert.Equal(expiresAt, parsed.Value.ExpiresAt);
        Assert.Equal(topics, parsed.Value.Topics);
    }

    [Fact]
    public void FormatThenParse_NoTopics_Empty()
    {
        var parsed = InstanceTopics.Parse(InstanceTopics.Format(new TopicSnapshot([], 3), DateTimeOffset.UnixEpoch));

        Assert.Empty(parsed!.Value.Topics);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1|x\nnotes/*")]
    public void Parse_Malformed_Null(string? value) => Assert.Null(InstanceTopics.Parse(value));

    [Theory]
    [InlineData("a=1,b=7", "b", 7L)]
    [InlineData("a=1,ab=7", "a", 1L)]
    [InlineData("ab=7", "a", null)]
    [InlineData("", "a", null)]
    public void ParseApplied_FindsOnlyThatInstance(string versions, string instance, long? expected)
        => Assert.Equal(expected, ClusterEntry.VersionOf(versions, instance));
}
