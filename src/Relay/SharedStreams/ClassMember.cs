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
    // Each read of the record is numbered when it starts (reads answer out of order); _taken is the number Record came
    // from. A change a holder's own watch brought takes a number of its own.
    private long _started;
    private long _taken;

    public UserSession Session { get; } = session;

    public JsonElement? Record { get; set; }

    /// <summary>The superuser watch and the first read of the record; completes with whether the record is known.</summary>
    public Task<bool>? Ready { get; set; }

    /// <summary>Numbers a read of the record about to start.</summary>
    public long StartRead() => ++_started;

    /// <summary>Takes <paramref name="record"/>, the answer to read <paramref name="read"/>, unless an answer to a later read was taken.</summary>
    public bool TakeRead(long read, JsonElement? record)
    {
        if (read < _taken)
        {
            return false;
        }

        _taken = read;
        Record = record;
        return true;
    }
}
