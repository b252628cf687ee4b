namespace Relay.Cluster;

/// <summary>Field names of a session's Redis Stream entries (short: every event carries them).</summary>
internal static class EntryFields
{
    public const string Kind = "k";
    public const string Instance = "i";
    public const string Topic = "t";
    public const string Action = "a";
    public const string Record = "r";
    public const string Versions = "v";
    public const string Topics = "s";
    public const string Successor = "n";
}
