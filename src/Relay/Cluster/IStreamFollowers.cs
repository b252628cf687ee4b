namespace Relay.Cluster;

/// <summary>The session streams this instance follows, by name (<see cref="ClusterNode"/>).</summary>
internal interface IStreamFollowers
{
    /// <summary>The stream <paramref name="streamName"/> as this instance follows it now, if it does.</summary>
    IStreamFollower? FindFollower(string streamName);
}
