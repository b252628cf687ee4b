using System.Text.Json;

namespace Relay.Client.Caching;

/// <summary>A snapshot of one cache entry, as published to its watchers.</summary>
internal sealed record QueryState(JsonElement? Data, bool HasData, bool IsFetching, Exception? Error, long Version);
