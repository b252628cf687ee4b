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

    /// <summary>Whether the subscription succeeded.</summary>
    [IgnoreDataMember]
    [JsonIgnore]
    public bool IsSuccess => Error is null;
}
