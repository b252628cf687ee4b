using System.Text.Json;
using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>
/// What shared streams know of one member session: its own auth record, read with its own token at its first shared
/// subscription and again after every change the superuser's watch of the auth collection sees (and, while the member
/// holds a class stream, kept current by a watch of that record on its own stream). <see cref="Record"/> is null until
/// known, and again once it may be stale (a gap on the watch) or the record was deleted: the member's topics are then
/// per user. Guarded by <see cref="ClassStreams"/>' lock.
/// </summary>
internal sealed class ClassMember(UserSession session)
{
    public UserSession Session { get; } = session;

    public JsonElement? Record { get; set; }

    /// <summary>The superuser watch and the first read of the record; completes with whether the record is known.</summary>
    public Task<bool>? Ready { get; set; }

    /// <summary>Numbers each read of the record, in the order they started: reads answer out of order.</summary>
    public long ReadsStarted { get; set; }

    /// <summary>The read <see cref="Record"/> came from (a change a holder's own watch brought counts as a read of its own): an older answer never replaces it.</summary>
    public long ReadTaken { get; set; }
}
