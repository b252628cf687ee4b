using System.Text.Json.Serialization;

namespace Relay.PocketBase;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SubscriptionRequest))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;
