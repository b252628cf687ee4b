using Relay.Client.Protocol;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// A session's bounded history of the events it relayed, so a client that reconnects can be sent what it missed
/// instead of refetching. Offsets are opaque strings, monotonic within one log and never equal to an offset of another
/// log (another session incarnation, instance or process), so a client cannot be "recovered" from someone else's history.
/// Its owning <see cref="UserSession"/> calls it under the session's lock, so an append and the routing of the same
/// event are one step, as are a read and the joining of a route (the replay cannot miss or repeat a live event).
/// </summary>
internal interface ISessionEventLog
{
    /// <summary>
    /// The offset of the newest entry (or of the log's start when empty): a subscriber that records it receives, live,
    /// every event appended after it, so it can later resume from it. Null while the position is not known without
    /// waiting for I/O (a cluster stream not yet reading): the subscriber then has no offset until its first event, and
    /// resyncs if it reconnects before that.
    /// </summary>
    string? Head { get; }

    /// <summary>
    /// The session now holds <paramref name="upstreamTopic"/> upstream; from here on every event PocketBase sends for it
    /// is appended. A read for a topic covers only what was appended while it was held continuously.
    /// </summary>
    void Hold(string upstreamTopic);

    /// <summary>The session no longer holds <paramref name="upstreamTopic"/>: later events for it are not seen, so its coverage ends.</summary>
    void Release(string upstreamTopic);

    /// <summary>
    /// Before the session's lock is taken (it may wait for I/O): reads ahead what a later <see cref="TryReadSince(string, string, out IReadOnlyList{RelayEvent})"/> from
    /// <paramref name="offset"/> needs, so that the read under the lock waits for no I/O. Never throws: a read-ahead that
    /// fails leaves the read to do what it can.
    /// </summary>
    ValueTask PrepareReadAsync(string offset, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Appends <paramref name="relayEvent"/>, received for <paramref name="upstreamTopic"/>, and sets its <see cref="RelayEvent.Offset"/>.</summary>
    /// <returns>The new entry's offset.</returns>
    string Append(string upstreamTopic, RelayEvent relayEvent);

    /// <summary>
    /// An event from a shared log (cluster mode: the session's Redis Stream) reached the session, routed or not: a replay
    /// reads that log up to here, and later events come live. Under the session's lock.
    /// </summary>
    void Observe(UpstreamEvent upstreamEvent);

    /// <summary>
    /// The events for <paramref name="upstreamTopic"/> appended after <paramref name="offset"/>, oldest first, when the log
    /// holds all of them; false (a gap) when it cannot say: an offset of another log or malformed, entries trimmed since
    /// (by count or age), a <see cref="MarkGap"/> since, or the topic not held continuously since.
    /// </summary>
    bool TryReadSince(string offset, string upstreamTopic, out IReadOnlyList<RelayEvent> events);

    /// <summary>
    /// <see cref="Head"/> for a topic held on the session's stream <paramref name="streamName"/> (<see cref="UpstreamShard.Name"/>):
    /// a log over several streams (cluster mode, the guests' topics spread) has a position per stream.
    /// </summary>
    string? HeadOf(string streamName) => Head;

    /// <summary>
    /// The index of the session's stream (<see cref="UpstreamShard.Index"/>) whose history <paramref name="offset"/> is a
    /// position of, when known without I/O (after <see cref="PrepareReadAsync"/>): a new topic with that <c>since</c> goes
    /// to that stream when it has room, so the replay and the live events come from one history. Null when any will do.
    /// </summary>
    int? StreamIndexOf(string offset) => null;

    /// <summary>
    /// <see cref="TryReadSince(string, string, out IReadOnlyList{RelayEvent})"/> for a topic held on the session's stream
    /// <paramref name="streamName"/>: not covered when <paramref name="offset"/> is a position of another stream's history.
    /// </summary>
    bool TryReadSince(string offset, string upstreamTopic, string streamName, out IReadOnlyList<RelayEvent> events)
        => TryReadSince(offset, upstreamTopic, out events);

    /// <summary>An unplanned upstream loss: events may have been missed, so no read may span this point.</summary>
    void MarkGap();
}
