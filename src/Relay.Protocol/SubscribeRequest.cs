using System.Runtime.Serialization;

namespace Relay.Client.Protocol;

/// <summary>One entry of <see cref="IRelayHub.SubscribeMany"/>: a topic and its options, as <see cref="IRelayHub.Subscribe"/> takes them.</summary>
[DataContract]
public sealed class SubscribeRequest
{
    /// <summary><c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>.</summary>
    [DataMember(Name = "topic")]
    public required string Topic { get; set; }

    /// <summary>Options passed through to PocketBase, or <see langword="null"/>.</summary>
    [DataMember(Name = "options")]
    public SubscriptionOptions? Options { get; set; }

    /// <summary>
    /// The last offset the client saw for this topic (<see cref="RelayEvent.Offset"/>, or <see cref="SubscribeResult.Offset"/>
    /// when no event came since), or <see langword="null"/>. When Relay's history covers what came after it, the missed
    /// events are sent before any live one and <see cref="SubscribeResult.Recovered"/> is <see langword="true"/>.
    /// </summary>
    [DataMember(Name = "since")]
    public string? Since { get; set; }
}
