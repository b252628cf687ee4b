using System.Text.Json;
using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>
/// What shared streams know of one member session: its own auth record, kept current by a watch of that record on the
/// member's own stream. <see cref="Record"/> is null until known, and again once it may be stale (a gap on the watch)
/// or the record was deleted: the member's topics are then per user. Guarded by <see cref="ClassStreams"/>' lock.
/// </summary>
internal sealed class ClassMember(UserSession session)
{
    public UserSession Session { get; } = session;

    public JsonElement? Record { get; set; }

    /// <summary>The watch and the first read of the record; completes with whether the record is known.</summary>
    public Task<bool>? Ready { get; set; }

    /// <summary>Goes up on every change of <see cref="Record"/>, so a move started for an older record gives way.</summary>
    public long Version { get; set; }
}
