using System.Runtime.Serialization;
using System.Text.Json;

namespace Relay.Client.Protocol;

/// <summary>A record change PocketBase reported for a topic the connection subscribed to (hub method <c>Event</c>).</summary>
[DataContract]
public sealed class RelayEvent
{
    /// <summary>The topic as the connection subscribed to it, without options: <c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c>.</summary>
    [DataMember(Name = "topic")]
    public required string Topic { get; set; }

    /// <summary>One of <see cref="RelayActions"/>: <c>create</c>, <c>update</c> or <c>delete</c>.</summary>
    [DataMember(Name = "action")]
    public required string Action { get; set; }

    /// <summary>The record exactly as PocketBase sent it to this user (hidden fields removed by PocketBase, no <c>expand</c> unless asked for in the options).</summary>
    [DataMember(Name = "record")]
    public JsonElement Record { get; set; }

    /// <summary>
    /// Where this event stands in its session's history (protocol version 2): an opaque string, increasing within one
    /// session incarnation and never equal to an offset of another. Pass the last one seen for a topic as
    /// <see cref="SubscribeRequest.Since"/> when subscribing again after a reconnect to get what was missed.
    /// <see langword="null"/> from servers that keep no history.
    /// </summary>
    [DataMember(Name = "offset")]
    public string? Offset { get; set; }
}
