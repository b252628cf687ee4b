namespace Relay.Cluster;

/// <summary>What a session's Redis Stream entry says (its <see cref="EntryFields.Kind"/>).</summary>
internal static class EntryKinds
{
    /// <summary>A record event read from PocketBase, in the order read.</summary>
    public const string Event = "e";

    /// <summary>PocketBase holds the topic sets of these instance versions (<c>id=version,...</c>).</summary>
    public const string Applied = "v";

    /// <summary>PocketBase refused these topics; every other one is held.</summary>
    public const string Refused = "x";

    /// <summary>The stream was lost or taken over after a crash: events may be missing, every follower resyncs.</summary>
    public const string Resync = "r";

    /// <summary>A successor is about to open its stream: from here on the owner's events are remembered.</summary>
    public const string HandoverBegin = "b";

    /// <summary>The successor's stream holds every topic: the owner may close its own.</summary>
    public const string HandoverReady = "y";

    /// <summary>The owner closed its stream and passed the lease to the successor named in the entry.</summary>
    public const string HandoverDone = "d";
}
