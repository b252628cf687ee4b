using Relay.Cluster;

namespace Relay.Tests.Cluster;

/// <summary>The streams an instance follows, by name: a guest session spread over several has one per stream.</summary>
internal sealed class FakeStreamFollowers : IStreamFollowers
{
    public Dictionary<string, FakeStreamFollower> Followers { get; } = new(StringComparer.Ordinal);

    public IStreamFollower? FindFollower(string streamName) => Followers.GetValueOrDefault(streamName);
}
