using System.Text.Json;

namespace Relay.Client.Caching;

public sealed partial class InMemoryQueryCache
{
    /// <summary>One key's state; read and written under the cache's lock.</summary>
    private sealed class Entry
    {
        public JsonElement? Data { get; set; }

        public bool HasData { get; set; }

        public bool Stale { get; set; }

        public int Observers { get; set; }

        public Func<CancellationToken, Task<JsonElement?>>? Fetcher { get; set; }

        public CancellationTokenSource? InFlight { get; set; }

        public Task? FetchTask { get; set; }

        public long Generation { get; set; }

        /// <summary>The last fetch's failure, cleared by the next data.</summary>
        public Exception? Error { get; set; }

        /// <summary>The bindable entries watching this key; replaced, never mutated.</summary>
        public QueryEntry[] Watchers { get; set; } = [];

        /// <summary>Incremented on every published change, so a watcher never goes back to an older state.</summary>
        public long Version { get; set; }
    }
}
