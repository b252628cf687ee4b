using System.Text.Json.Serialization;

namespace Relay.Bff;

[JsonSerializable(typeof(BffSession))]
[JsonSerializable(typeof(StoredBffSession))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(BffError))]
[JsonSerializable(typeof(OAuth2Pending))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class BffJsonContext : JsonSerializerContext;
