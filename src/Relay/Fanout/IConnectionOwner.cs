namespace Relay.Fanout;

/// <summary>
/// What a <see cref="RelayConnection"/> belongs to (its user's session), as far as the connection needs to know: when its
/// backlog overflows, the topics to name in the <c>Resync</c> that replaces it. The connection knows nothing else of
/// sessions; the hub keeps which session a connection is attached to.
/// </summary>
internal interface IConnectionOwner
{
    /// <summary>The topics <paramref name="connection"/> is subscribed to.</summary>
    IReadOnlyList<string> GetTopicsOf(RelayConnection connection);
}
