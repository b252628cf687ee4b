using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// The Redis keys of one session stream: the one place their names are made. One hash tag per session stream keeps
/// them on one shard of a Redis Cluster (the scripts in <see cref="ClusterScripts"/> touch several at once).
/// </summary>
internal readonly record struct ClusterKeys
{
    public ClusterKeys(string streamName)
    {
        var prefix = $"relay:cluster:{{{streamName}}}:";
        Events = prefix + "events";
        Topics = prefix + "topics";
        Lease = prefix + "lease";
        Handover = prefix + "handover";
        Successor = prefix + "successor";
        Epoch = prefix + "epoch";
        Notify = RedisChannel.Literal(prefix + "notify");
    }

    /// <summary>The Redis Stream of the session's events (and of the cluster's control entries, <see cref="EntryKinds"/>).</summary>
    public RedisKey Events { get; }

    /// <summary>Hash: one field per stream incarnation that follows the session (<see cref="InstanceTopics"/>).</summary>
    public RedisKey Topics { get; }

    /// <summary>The incarnation that runs the session's PocketBase stream for the cluster.</summary>
    public RedisKey Lease { get; }

    /// <summary>Set while the owner hands the stream over (its incarnation's id).</summary>
    public RedisKey Handover { get; }

    /// <summary>The incarnation opening its stream to take over from an owner handing over.</summary>
    public RedisKey Successor { get; }

    /// <summary>Random, drawn when the Stream's keys are created: offsets of an earlier Stream never match a later one.</summary>
    public RedisKey Epoch { get; }

    /// <summary>
    /// The Stream's own notification channel: only the instances following this session hear of its appends, where one
    /// channel for every session made each instance wake for every other instance's sessions too.
    /// </summary>
    public RedisChannel Notify { get; }
}
