using System.Diagnostics.Metrics;

namespace Relay.Diagnostics;

/// <summary>
/// Relay's instruments (meter <c>Relay</c>). Gauges report the state that matters for capacity: connections, sessions
/// and upstream streams (PocketBase's cost); counters and histograms report the flow of events.
/// </summary>
internal sealed class RelayMetrics
{
    public const string MeterName = "Relay";

    private static readonly KeyValuePair<string, object?> SingleWrite = new("kind", "single");
    private static readonly KeyValuePair<string, object?> BatchWrite = new("kind", "batch");

    private readonly TimeProvider _timeProvider;
    private readonly Counter<long> _eventsReceived;
    private readonly Counter<long> _eventsDelivered;
    private readonly Counter<long> _fanoutChunks;
    private readonly Histogram<int> _fanoutChunkSize;
    private readonly Histogram<double> _deliveryLag;
    private readonly Histogram<double> _fanoutDuration;
    private readonly Meter _meter;
    private readonly Counter<long> _outboundOverflows;
    private readonly Counter<long> _outboundCompactions;
    private readonly Counter<long> _outboundAborts;
    private readonly Counter<long> _outboundWrites;
    private readonly Counter<long> _outboundBatched;
    private readonly Counter<long> _upstreamConnectFailures;
    private readonly Counter<long> _upstreamReconnects;
    private readonly Counter<long> _upstreamStreamsLost;
    private readonly Counter<long> _upstreamSubscriptionPosts;
    private readonly Counter<long> _upstreamRotations;
    private readonly Counter<long> _upstreamRotationFailures;
    private readonly Counter<long> _upstreamTopicsRefused;
    private readonly Counter<long> _hubErrors;
    private readonly Counter<long> _tokenRefreshes;
    private readonly Counter<long> _authExpired;
    private readonly Counter<long> _tokenVerifications;
    private readonly Counter<long> _bffSessionsEnded;

    private long _connections;
    private long _userSessions;
    private long _guestSessions;
    private long _upstreamStreams;

    public RelayMetrics(IMeterFactory meterFactory, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        var meter = meterFactory.Create(MeterName);
        _meter = meter;

        meter.CreateObservableGauge("relay.connections", () => Volatile.Read(ref _connections), "{connection}", "Open SignalR connections.");
        meter.CreateObservableGauge(
            "relay.sessions",
            () => new[]
            {
                new Measurement<long>(Volatile.Read(ref _userSessions), new KeyValuePair<string, object?>("kind", "user")),
                new Measurement<long>(Volatile.Read(ref _guestSessions), new KeyValuePair<string, object?>("kind", "guest")),
            },
            "{session}",
            "Live sessions: one per authenticated user, one shared by guests.");
        meter.CreateObservableGauge("relay.upstream.streams", () => Volatile.Read(ref _upstreamStreams), "{stream}", "Open realtime streams to PocketBase.");

        _eventsReceived = meter.CreateCounter<long>("relay.events.received", "{event}", "Record events read from PocketBase, by collection.");
        _eventsDelivered = meter.CreateCounter<long>("relay.events.delivered", "{event}", "Events queued to a connection (one per recipient), by collection.");
        _fanoutChunks = meter.CreateCounter<long>("relay.fanout.chunks", "{chunk}", "Fan-out work items dispatched.");
        _fanoutChunkSize = meter.CreateHistogram<int>("relay.fanout.chunk.size", "{connection}", "Connections per fan-out work item.");
        _deliveryLag = meter.CreateHistogram<double>("relay.delivery.lag", "ms", "From reading an event from PocketBase to queuing it for the last recipient.");
        _fanoutDuration = meter.CreateHistogram<double>("relay.fanout.duration", "ms", "From starting an event's fan-out to having it queued for every recipient.");
        _outboundOverflows = meter.CreateCounter<long>("relay.outbound.overflows", "{overflow}", "Connection queues that overflowed even after compaction; their events were dropped and a Resync sent.");
        _outboundCompactions = meter.CreateCounter<long>("relay.outbound.compactions", "{compaction}", "Full connection queues compacted by dropping events superseded by newer ones for the same record.");
        _outboundWrites = meter.CreateCounter<long>(
            "relay.outbound.writes",
            "{write}",
            "Writes of queued messages to connections, each with one flush: kind=single for a message written alone, kind=batch for the messages that queued while the previous write was in flight, written together.");
        _outboundBatched = meter.CreateCounter<long>("relay.outbound.batched", "{message}", "Messages written in batches (kind=batch writes); messages per write = (single writes + this) ÷ all writes.");
        _outboundAborts = meter.CreateCounter<long>("relay.outbound.aborts", "{connection}", "Connections closed because they wrote nothing for StuckTimeout with a full queue.");
        _upstreamConnectFailures = meter.CreateCounter<long>("relay.upstream.connect_failures", "{attempt}", "Failed attempts to open a stream and post its subscriptions.");
        _upstreamReconnects = meter.CreateCounter<long>("relay.upstream.reconnects", "{reconnect}", "Streams re-established after a loss.");
        _upstreamStreamsLost = meter.CreateCounter<long>("relay.upstream.streams_lost", "{stream}", "Streams lost unplanned while their session lived (each costs its connections a Resync), by reason; planned rotations are counted in relay.upstream.rotations.");
        _upstreamSubscriptionPosts = meter.CreateCounter<long>("relay.upstream.subscription_posts", "{request}", "Subscription sets posted to PocketBase.");
        _upstreamRotations = meter.CreateCounter<long>("relay.upstream.rotations", "{rotation}", "Streams replaced before PocketBase would close them (make before break, no Resync), by reason (idle, lifetime; holder: a class stream moved to a new holder's token).");
        _upstreamRotationFailures = meter.CreateCounter<long>("relay.upstream.rotation_failures", "{attempt}", "Stream rotations that could not open or subscribe the replacement; the old stream was kept.");
        _upstreamTopicsRefused = meter.CreateCounter<long>("relay.upstream.topics_refused", "{topic}", "Topics PocketBase refused in a subscription POST; dropped, the stream kept.");
        _hubErrors = meter.CreateCounter<long>("relay.hub.errors", "{error}", "Hub calls refused, by error code.");
        _tokenRefreshes = meter.CreateCounter<long>("relay.auth.refreshes", "{refresh}", "Session tokens refreshed through PocketBase before expiry.");
        _authExpired = meter.CreateCounter<long>("relay.auth.expired", "{session}", "Sessions ended because PocketBase no longer accepted their token, by reason.");
        _tokenVerifications = meter.CreateCounter<long>(
            "relay.auth.verifications",
            "{token}",
            "Tokens checked, by result: valid or refused (PocketBase asked), malformed or expired (refused without asking), rate_limited (the address had too many refused), busy (too many calls in flight), unavailable.");
        _bffSessionsEnded = meter.CreateCounter<long>(
            "relay.bff.sessions_ended",
            "{session}",
            "BFF sessions ended, by reason: signed_out, signed_in_again, revoked (PocketBase refused the token), over_cap (the user's oldest beyond Relay:Bff:MaxSessionsPerUser), superuser.");
    }

    public void BffSessionEnded(string reason) => _bffSessionsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public long GetTimestamp() => _timeProvider.GetTimestamp();

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    public void SessionOpened(bool guest) => Interlocked.Increment(ref guest ? ref _guestSessions : ref _userSessions);

    public void SessionClosed(bool guest) => Interlocked.Decrement(ref guest ? ref _guestSessions : ref _userSessions);

    public void UpstreamStreamOpened() => Interlocked.Increment(ref _upstreamStreams);

    public void UpstreamStreamClosed() => Interlocked.Decrement(ref _upstreamStreams);

    public void UpstreamConnectFailed() => _upstreamConnectFailures.Add(1);

    public void UpstreamReconnected() => _upstreamReconnects.Add(1);

    public void UpstreamStreamLost(string reason) => _upstreamStreamsLost.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void UpstreamSubscriptionPosted() => _upstreamSubscriptionPosts.Add(1);

    public void UpstreamRotated(string reason) => _upstreamRotations.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void UpstreamRotationFailed() => _upstreamRotationFailures.Add(1);

    public void UpstreamTopicsRefused(int count) => _upstreamTopicsRefused.Add(count);

    public void EventReceived(string? collection) => _eventsReceived.Add(1, new KeyValuePair<string, object?>("collection", collection));

    public void EventsDelivered(int recipients, long receivedTimestamp, long dispatchStarted, string? collection)
    {
        _eventsDelivered.Add(recipients, new KeyValuePair<string, object?>("collection", collection));
        if (_deliveryLag.Enabled)
        {
            _deliveryLag.Record(_timeProvider.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
        }

        if (_fanoutDuration.Enabled)
        {
            _fanoutDuration.Record(_timeProvider.GetElapsedTime(dispatchStarted).TotalMilliseconds);
        }
    }

    /// <summary>Cluster mode's gauges: whether Redis answers (1 or 0) and how many session streams this instance owns.</summary>
    public void ObserveCluster(Func<long> redisConnected, Func<long> ownedStreams)
    {
        _meter.CreateObservableGauge("relay.cluster.redis_connected", redisConnected, "{state}", "Cluster mode: 1 while Redis answers; 0 while every session runs its own PocketBase stream here.");
        _meter.CreateObservableGauge("relay.cluster.owned_streams", ownedStreams, "{stream}", "Cluster mode: session streams whose PocketBase stream this instance runs for the cluster.");
    }

    /// <summary>Reports the events waiting in connection queues, read from <paramref name="observe"/> when collected.</summary>
    public void ObserveQueueDepth(Func<long> observe)
        => _meter.CreateObservableGauge("relay.outbound.queue.depth", observe, "{event}", "Events queued for connections and not yet written, all connections together.");

    public void FanoutChunk(int size)
    {
        _fanoutChunks.Add(1);
        _fanoutChunkSize.Record(size);
    }

    public void OutboundOverflow() => _outboundOverflows.Add(1);

    public void OutboundCompacted() => _outboundCompactions.Add(1);

    public void OutboundAborted() => _outboundAborts.Add(1);

    public void OutboundWritten() => _outboundWrites.Add(1, SingleWrite);

    public void OutboundBatchWritten(int messages)
    {
        _outboundWrites.Add(1, BatchWrite);
        _outboundBatched.Add(messages);
    }

    public void TokenRefreshed() => _tokenRefreshes.Add(1);

    public void AuthExpired(string reason) => _authExpired.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void TokenVerification(string result) => _tokenVerifications.Add(1, new KeyValuePair<string, object?>("result", result));

    public void HubError(string code) => _hubErrors.Add(1, new KeyValuePair<string, object?>("code", code));
}
