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
}
