using Relay.Upstream;

namespace Relay.SharedStreams;

/// <summary>
/// One PocketBase stream, held with the superuser token <see cref="PocketBaseSchemaClient"/> signed in with, on
/// <c>COLLECTION_ID/*</c> of each auth collection that has sharing members: the only way Relay learns at once that a
/// member's token died. PocketBase drops a realtime client's auth when its record is deleted (0.22 closes the stream)
/// and, on 0.39+, when its token key changes, before or without sending that record's event to it, so a member's watch
/// of its own record cannot be relied on to see its own death.
/// It also holds <see cref="DeathsTopic"/>: on 0.23+ PocketBase sends a deleted user's <c>delete</c> only after every
/// update that deletion makes (relations to the user cleared, each checked against every client), so that news can come
/// long after class streams carried those updates to the dead member. Relay's hook
/// (<c>deploy/pocketbase/pb_hooks/relay.pb.js</c>) sends a <c>delete</c> of the same shape there before the deletion's
/// transaction starts, to superuser clients only; without the hook the topic stays silent.
/// This is deliberately not a session: it has no connections, no history and no route, and it is never handed to the
/// fan-out; what it reads leaves it as ids and an action (<see cref="AuthRecordChange"/>), to <see cref="ClassStreams"/>
/// alone, which re-verifies the member with the member's own token.
/// </summary>
internal sealed partial class AuthRecordWatch : IUpstreamSubscriber, IAsyncDisposable
{
    /// <summary>The custom topic Relay's PocketBase hook announces an auth record's deletion on, before it happens.</summary>
    public const string DeathsTopic = "relay/deaths";

    private readonly Lock _gate = new();
    private readonly HashSet<string> _topics = new(StringComparer.Ordinal);
    private readonly UpstreamConnectionFactory _upstreams;
    private readonly PocketBaseSchemaClient _schema;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<AuthRecordWatch> _logger;
    private UpstreamConnection? _upstream;
    private Action<AuthRecordChange?>? _handler;
    private long _version;
    private bool _disposed;

    public AuthRecordWatch(UpstreamConnectionFactory upstreams, PocketBaseSchemaClient schema, TimeProvider timeProvider, ILogger<AuthRecordWatch> logger)
    {
        _upstreams = upstreams;
        _schema = schema;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string Name => "shared:auth-record-watch";

    /// <summary>The superuser token, as last signed in for reading the rules (renewed there on a 401).</summary>
    public string? Token => _schema.RealtimeToken;

    /// <summary>
    /// After a gap: which of <paramref name="recordIds"/> still exist in <paramref name="collectionId"/>, with their
    /// <c>updated</c>, read with the same superuser token in one list per 100 (null: could not be told).
    /// </summary>
    public Task<IReadOnlyDictionary<string, string?>?> ReadUpdatedAsync(string collectionId, IReadOnlyList<string> recordIds)
        => _schema.ReadUpdatedAsync(collectionId, recordIds, CancellationToken.None);

    /// <summary>Where changes go (null: the stream was re-established or refused, so a change may have been missed). Set once.</summary>
    public void OnChange(Action<AuthRecordChange?> handler) => _handler = handler;

    /// <summary>Holds <c>COLLECTION_ID/*</c> for <paramref name="collectionId"/>; completes once PocketBase holds it.</summary>
    public async Task WatchAsync(string collectionId, TimeSpan timeout)
    {
        UpstreamConnection upstream;
        long version;
        var topic = collectionId + "/*";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_topics.Add(topic))
            {
                _topics.Add(DeathsTopic);
                _version++;
                Log.Watching(_logger, collectionId);
            }

            version = _version;
            if (_upstream is null)
            {
                _upstream = _upstreams.CreateConnection(this);
                _upstream.Start();
            }

            upstream = _upstream;
        }

        // Asks for a POST only while that version is not held yet: every member's first shared subscription comes
        // here, and a POST per member (of a set PocketBase already holds) cost PocketBase and Relay one request each.
        await upstream.WaitForSyncAsync(version, CancellationToken.None, topic).WaitAsync(timeout, _timeProvider);
    }

    public TopicSnapshot GetTopics()
    {
        lock (_gate)
        {
            return new TopicSnapshot([.. _topics], _version);
        }
    }

    public ValueTask OnEventAsync(UpstreamEvent upstreamEvent)
    {
        var record = upstreamEvent.Record;
        if (record.TryGetProperty("id", out var id) && id.GetString() is { } recordId
            && record.TryGetProperty("collectionId", out var collection) && collection.GetString() is { } collectionId)
        {
            _handler?.Invoke(new AuthRecordChange(collectionId, recordId, upstreamEvent.Action));
        }

        return default;
    }

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics)
    {
        lock (_gate)
        {
            foreach (var topic in upstreamTopics)
            {
                _topics.Remove(topic);
            }

            _version++;
        }

        Log.Refused(_logger, upstreamTopics.Count);
        _handler?.Invoke(null);
    }

    public ValueTask OnResubscribedAsync()
    {
        _handler?.Invoke(null);
        return default;
    }

    public async ValueTask DisposeAsync()
    {
        UpstreamConnection? upstream;
        lock (_gate)
        {
            _disposed = true;
            upstream = _upstream;
            _upstream = null;
        }

        if (upstream is not null)
        {
            await upstream.DisposeAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(11028, LogLevel.Information, "Watching auth collection {Collection} with the superuser's stream, to learn at once of a member's deletion or revoked token (its events reach no client).")]
        public static partial void Watching(ILogger logger, string collection);

        [LoggerMessage(11029, LogLevel.Warning, "PocketBase refused {Count} topics of the auth record watch; every member is verified again, and members of those collections are verified only on their next shared subscription.")]
        public static partial void Refused(ILogger logger, int count);
    }
}
