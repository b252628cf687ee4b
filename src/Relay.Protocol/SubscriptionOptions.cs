using System.Runtime.Serialization;

namespace Relay.Client.Protocol;

/// <summary>
/// Options for one subscription, passed through to PocketBase in its own encoding
/// (<c>TOPIC?options={"query":{...},"headers":{...}}</c>).
/// </summary>
[DataContract]
public sealed class SubscriptionOptions
{
    /// <summary>Query parameters PocketBase applies to the event record, such as <c>expand</c>, <c>fields</c> or <c>filter</c>.</summary>
    [DataMember(Name = "query")]
    public IDictionary<string, string>? Query { get; set; }

    /// <summary>Headers PocketBase sees as <c>@request.headers.*</c> when it evaluates rules for this subscription.</summary>
    [DataMember(Name = "headers")]
    public IDictionary<string, string>? Headers { get; set; }
}
