using System.Runtime.Serialization;
using System.Text.Json.Serialization;

namespace Relay.Client.Protocol;

/// <summary>The outcome of one entry of <see cref="IRelayHub.SubscribeMany"/>, in the order of the request.</summary>
[DataContract]
public sealed class SubscribeResult
{
    /// <summary>The topic of the request entry, as sent.</summary>
    [DataMember(Name = "topic")]
    public required string Topic { get; set; }

    /// <summary><see langword="null"/> when PocketBase holds the subscription; otherwise one of <see cref="RelayErrorCodes"/>.</summary>
    [DataMember(Name = "error")]
    public string? Error { get; set; }

    /// <summary>A human-readable explanation of <see cref="Error"/>; <see langword="null"/> on success.</summary>
    [DataMember(Name = "message")]
    public string? Message { get; set; }

    /// <summary>
    /// <see langword="true"/> when <see cref="SubscribeRequest.Since"/> was given and every event for the topic after it was
    /// (or is being) sent to this connection, before any live one: nothing was missed, no refetch is needed. Otherwise
    /// <see langword="false"/>: after a reconnect, treat the topic as resynced (refetch).
    /// </summary>
    [DataMember(Name = "recovered")]
    public bool Recovered { get; set; }

    /// <summary>
    /// The session's history position at the time of subscribing, or <see langword="null"/> on error or from servers that
    /// keep no history: every event after it is delivered, so a client that has seen no event for the topic since may
    /// pass it as <see cref="SubscribeRequest.Since"/> later.
    /// </summary>
    [DataMember(Name = "offset")]
    public string? Offset { get; set; }

    /// <summary>Whether the subscription succeeded.</summary>
    [IgnoreDataMember]
    [JsonIgnore]
    public bool IsSuccess => Error is null;
}
