namespace Relay.Client;

/// <summary>Where a held topic stands on the current connection.</summary>
internal enum TopicState
{
    /// <summary>Not subscribed on this connection yet: the next flush (or the one after its backoff) sends it.</summary>
    Pending,

    /// <summary>In a <c>SubscribeMany</c> (or <c>Subscribe</c>) call that has not completed.</summary>
    InFlight,

    /// <summary>Relay holds it on this connection.</summary>
    Held,

    /// <summary>Released by the app, refused for good, or the client was disposed; never sent again.</summary>
    Gone,
}
