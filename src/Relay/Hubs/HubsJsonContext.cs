using System.Text.Json.Serialization;

namespace Relay.Hubs;

[JsonSerializable(typeof(HubHttpError))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class HubsJsonContext : JsonSerializerContext;
