using Relay.Fanout;

namespace Relay.Sessions;

/// <summary>
/// The seam through which shared streams (SharedStreams/, which builds on sessions) follow the sessions' life: a
/// connection leaving, a session closing. Sessions know nothing else of it.
/// </summary>
internal interface ISessionListener
{
    /// <summary>Whether the listener wants the calls below at all.</summary>
    bool Enabled { get; }

    /// <summary><paramref name="connection"/> left Relay (before its own session forgets it).</summary>
    void ConnectionLeft(RelayConnection connection);

    /// <summary><paramref name="session"/> closed (linger over, or its token refused).</summary>
    void MemberClosed(UserSession session);

    /// <summary>The topics held on users' own streams, for the listener's metrics.</summary>
    void ObservePerUserTopics(Func<long> perUserTopics);
}
