using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Cluster;

[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
