using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// The session as the owner's PocketBase stream sees it in cluster mode: the topic set is the union of every
/// instance's, and each event goes to the session's Redis Stream (in the order read) instead of to connections. A
/// successor's feed (a graceful handover in progress) holds its events back with a <see cref="RotationDeduplicator"/>
/// until the old owner has closed its stream, then releases those the old owner did not publish: make before break,
/// nothing lost, nothing twice.
/// </summary>
internal sealed class OwnerFeed : IUpstreamSubscriber, IDisposable
{
    private const int OldOwner = 1;
    private const int NewOwner = 2;
    // Topic-set versions whose instance versions are remembered: a POST carries a version at most a few changes old.
    private const int MemberVersionsKept = 16;
    private static readonly TimeSpan DropMatchesFor = TimeSpan.FromSeconds(5);

    private readonly IUpstreamSubscriber _session;
    private readonly Func<NameValueEntry[], Task> _append;
    private readonly Action<IReadOnlyList<string>, string?> _refused;

    // The instance versions (ClusterEntry.FormatVersions) each recent topic-set version was made of, for a refusal.
    private readonly Dictionary<long, string> _memberVersions = [];
    private readonly string _instanceId;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly RotationDeduplicator? _deduplicator;
    private string[] _topics = [];
    private long _version;
    private volatile bool _primary;

    /// <param name="session">The session whose topics and token the stream uses.</param>
    /// <param name="append">Appends an entry to the session's Redis Stream (<see cref="StreamAppender"/>).</param>
    /// <param name="refused">
    /// PocketBase refused topics (with the instance versions of the topic set they were found in): called on the stream's
    /// own thread before that set's waiters complete, so the refusal is appended before its confirmation; must not block.
    /// </param>
    /// <param name="instanceId">The incarnation whose entries these are.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="successor">A successor's feed: holds its events back until the old owner has let go.</param>
    public OwnerFeed(IUpstreamSubscriber session, Func<NameValueEntry[], Task> append, Action<IReadOnlyList<string>, string?> refused, string instanceId, TimeProvider timeProvider, bool successor)
    {
        _session = session;
        _append = append;
        _refused = refused;
        _instanceId = instanceId;
        _timeProvider = timeProvider;
        _primary = !successor;
        if (successor)
        {
            _deduplicator = new RotationDeduplicator();
            _deduplicator.Reset(OldOwner);
            _deduplicator.AddSuccessor(NewOwner);
        }
    }

    /// <summary>The owner's stream (set right after construction, by the loop that owns the feed).</summary>
    public UpstreamConnection? Connection { get; set; }

    /// <summary>Publishing to the Redis Stream (false while a successor waits for the old owner to let go).</summary>
    public bool IsPrimary => _primary;

    public string Name => _session.Name + " (cluster)";

    public string? Token => _session.Token;

    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    public TopicSnapshot GetTopics()
    {
        lock (_gate)
        {
            return new TopicSnapshot(_topics, _version);
        }
    }

    /// <summary>
    /// Replaces the topic set with <paramref name="union"/> of the instance versions <paramref name="versions"/>; true when it
    /// changed (a new version).
    /// </summary>
    public bool Update(string[] union, string versions)
    {
        lock (_gate)
        {
            if (union.AsSpan().SequenceEqual(_topics))
            {
                return false;
            }

            _topics = union;
            _version++;
            _memberVersions.Remove(_version - MemberVersionsKept);
            _memberVersions[_version] = versions;
            return true;
        }
    }

    public async ValueTask OnEventAsync(UpstreamEvent upstreamEvent)
    {
        await _publishGate.WaitAsync();
        try
        {
            if (_deduplicator is not null)
            {
                bool deliver;
                lock (_gate)
                {
                    deliver = _deduplicator.ShouldDeliver(NewOwner, upstreamEvent, _timeProvider.GetTimestamp());
                }

                if (!deliver)
                {
                    return;
                }
            }

            await _append(EventEntry(upstreamEvent));
        }
        finally
        {
            _publishGate.Release();
        }
    }

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics) => _refused(upstreamTopics, null);

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics, long version)
    {
        string? versions;
        lock (_gate)
        {
            versions = _memberVersions.GetValueOrDefault(version);
        }

        _refused(upstreamTopics, versions);
    }

    public async ValueTask OnResubscribedAsync()
    {
        if (_primary)
        {
            await _append(ClusterEntry.Resync(_instanceId));
        }
    }

    /// <summary>Events a successor holds back until the old owner lets go.</summary>
    public int HeldCount
    {
        get
        {
            lock (_gate)
            {
                return _deduplicator?.HeldCount ?? 0;
            }
        }
    }

    /// <summary>The reader saw this successor's <c>handover begin</c>: from now on the old owner's events are remembered.</summary>
    public void BeginRecording()
    {
        lock (_gate)
        {
            _deduplicator?.BeginRotation();
        }
    }

    /// <summary>An event the old owner published, as the reader read it.</summary>
    public void RecordPrimary(UpstreamEvent upstreamEvent)
    {
        if (_deduplicator is null || _primary)
        {
            return;
        }

        lock (_gate)
        {
            _deduplicator.ShouldDeliver(OldOwner, upstreamEvent, _timeProvider.GetTimestamp());
        }
    }

    /// <summary>The old owner closed its stream: publish what it did not, and everything from now on.</summary>
    public async Task CompleteSuccessionAsync()
    {
        await _publishGate.WaitAsync();
        try
        {
            List<UpstreamEvent> release;
            lock (_gate)
            {
                var until = _timeProvider.GetTimestamp() + (long)(DropMatchesFor.TotalSeconds * _timeProvider.TimestampFrequency);
                release = _deduplicator!.CompleteRotation(until);
                _primary = true;
            }

            foreach (var held in release)
            {
                await _append(EventEntry(held));
            }
        }
        finally
        {
            _publishGate.Release();
        }
    }

    public void Dispose() => _publishGate.Dispose();

    private NameValueEntry[] EventEntry(in UpstreamEvent upstreamEvent)
        => ClusterEntry.Event(_instanceId, upstreamEvent.UpstreamTopic, upstreamEvent.Action, upstreamEvent.Record.GetRawText());
}
