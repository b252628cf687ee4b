using System.Text.Json.Serialization;

namespace Relay.Upstream;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SubscriptionRequest))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;
