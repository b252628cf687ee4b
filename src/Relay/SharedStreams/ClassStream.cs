using Relay.Fanout;
using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>
/// One class's PocketBase stream for one collection rule: a session of its own (<see cref="Session"/>, keyed by the
/// class) whose stream is held with <see cref="Holder"/>'s token, and the member connections routed to it. Guarded by
/// <see cref="ClassStreams"/>' lock.
/// </summary>
internal sealed class ClassStream(SessionKey key, string collectionId, string collection, UserSession session, UserSession holder)
{
    public SessionKey Key { get; } = key;

    public string CollectionId { get; } = collectionId;

    /// <summary>The collection's name, for metrics.</summary>
    public string Collection { get; } = collection;

    public UserSession Session { get; } = session;

    /// <summary>The member whose token holds the stream; always one with a connection in <see cref="Connections"/>.</summary>
    public UserSession Holder { get; set; } = holder;

    /// <summary>Each member connection routed here, with its member's own session.</summary>
    public Dictionary<RelayConnection, UserSession> Connections { get; } = [];

    /// <summary>Set once the stream is closed (its last connection left); a closed stream takes no one.</summary>
    public bool Closed { get; set; }

    /// <summary>
    /// The holder that left during a gapless holder change, whose stream is still read until the new holder's is
    /// accepted (and for the overlap after); its record stays watched until then.
    /// </summary>
    public UserSession? Departing { get; set; }

    /// <summary>Set when <see cref="Departing"/>'s record changed (or may have) during the change: its stream was suspended.</summary>
    public bool DepartingChanged { get; set; }

    /// <summary>Serializes the holder changes of this stream.</summary>
    public SemaphoreSlim HolderChange { get; } = new(1, 1);

    /// <summary>The holder's token was refreshed: the stream follows it (the same user, so PocketBase takes it on the open stream).</summary>
    public void OnHolderToken(UserSession member)
    {
        if (member == Holder && member.Token is { } token)
        {
            Session.UseToken(token, member.ExpiresAt);
        }
    }
}
