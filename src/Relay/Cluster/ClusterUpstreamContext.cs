using Relay.Upstream;

namespace Relay.Cluster;

/// <summary>
/// What the owners of one session stream's state share, none of it state: the incarnation's identity and keys, the
/// instance's store, options and clock, the session, the one writer of the Stream and the loop's inbox.
/// </summary>
internal sealed class ClusterUpstreamContext : IDisposable
{
    public ClusterUpstreamContext(IUpstreamSubscriber subscriber, Func<IUpstreamSubscriber, UpstreamConnection> createLocal, ClusterNode node)
    {
        Subscriber = subscriber;
        CreateLocal = createLocal;
        Node = node;
        StreamName = subscriber.Name;
        MemberId = string.Concat(node.InstanceId, ".", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
        Keys = new ClusterKeys(StreamName);
        Appender = new StreamAppender(node.Store, Keys, MemberId, node.Options.StreamMaxLength);
    }

    public IUpstreamSubscriber Subscriber { get; }

    /// <summary>Opens a PocketBase stream of this instance (the owner's, a successor's, or the own one while alone).</summary>
    public Func<IUpstreamSubscriber, UpstreamConnection> CreateLocal { get; }

    public ClusterNode Node { get; }

    /// <summary>The session stream's name in Redis and in logs.</summary>
    public string StreamName { get; }

    /// <summary>This incarnation (instance id and a nonce): see <see cref="ClusterUpstream.MemberId"/>.</summary>
    public string MemberId { get; }

    public ClusterKeys Keys { get; }

    /// <summary>The one writer of the session's Redis Stream for this incarnation.</summary>
    public StreamAppender Appender { get; }

    /// <summary>The loop's inbox.</summary>
    public ClusterInbox Inbox { get; } = new();

    public IClusterStore Store => Node.Store;

    public ClusterOptions Options => Node.Options;

    public TimeProvider TimeProvider => Node.TimeProvider;

    public ILogger Logger => Node.Logger;

    /// <summary>The session as an owner's (or a successor's) PocketBase stream sees it: its events go to the Stream.</summary>
    public OwnerFeed CreateFeed(bool successor) => new(
        Subscriber,
        fields => Appender.AppendAsync(fields),
        (topics, versions) => _ = AppendRefusalAsync(topics, versions),
        MemberId,
        TimeProvider,
        successor);

    /// <summary>
    /// A refusal goes to the Stream before the confirmation of the topic set it was found in: it is called before that
    /// set's waiters complete, so its append queues at the appender first (the XADD is sent now when the appender is
    /// free; its semaphore serves waiters in order otherwise). Through the loop's inbox it could come after.
    /// </summary>
    private async Task AppendRefusalAsync(IReadOnlyList<string> topics, string? versions)
    {
        try
        {
            await Appender.AppendAsync(ClusterEntry.Refused(MemberId, topics, versions));
        }
        catch (Exception ex)
        {
            // The appender owes a gap for it: the followers resync.
            ClusterLog.ConfirmFailed(Logger, StreamName, ex.GetType().Name);
        }
    }

    /// <summary>After the loop and every owner have stopped.</summary>
    public void Dispose() => Appender.Dispose();
}
