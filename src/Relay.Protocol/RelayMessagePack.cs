using MessagePack;
using MessagePack.Resolvers;

namespace Relay.Client.Protocol;

/// <summary>The MessagePack serializer options the Relay hub protocol needs on both ends.</summary>
public static class RelayMessagePack
{
    /// <summary>
    /// SignalR's default MessagePack options (contractless, untrusted data) plus the <see cref="System.Text.Json.JsonElement"/>
    /// formatter, so records travel as MessagePack maps instead of empty objects.
    /// </summary>
    public static MessagePackSerializerOptions SerializerOptions { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [JsonElementMessagePackFormatter.Instance],
            [ContractlessStandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);
}
