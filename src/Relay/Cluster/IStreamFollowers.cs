namespace Relay.Cluster;

/// <summary>The session streams this instance follows, by name (<see cref="ClusterNode"/>).</summary>
internal interface IStreamFollowers
{
    /// <summary>The stream <paramref name="streamName"/> as this instance follows it now, if it does.</summary>
    IStreamFollower? FindFollower(string streamName);

    /// <summary>The guests' session <paramref name="streamName"/> spreads over extra streams here (<c>name#n</c>).</summary>
    bool HasShards(string streamName);
}
