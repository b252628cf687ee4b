using System.Runtime.Serialization;

namespace Relay.Client.Protocol;

/// <summary>
/// Sent (hub method <c>Resync</c>) whenever events for some of the connection's topics may have been lost.
/// A client refetches everything it holds for <see cref="Topics"/>.
/// </summary>
[DataContract]
public sealed class ResyncSignal
{
    /// <summary>The affected topics, as the connection subscribed to them.</summary>
    [DataMember(Name = "topics")]
    public required IReadOnlyList<string> Topics { get; set; }

    /// <summary>Why events may have been lost; one of <see cref="ResyncReasons"/>.</summary>
    [DataMember(Name = "reason")]
    public required string Reason { get; set; }
}
