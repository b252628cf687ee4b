using Relay.PocketBase;

namespace Relay.Upstream;

/// <summary>One live stream of an <see cref="UpstreamConnection"/> with its reader and what PocketBase holds for it.</summary>
internal sealed class StreamHandle(int id, RealtimeStream stream, TimeSpan lifetime)
{
    /// <summary>Numbers the session's streams, so events read from a retired stream are recognised.</summary>
    public int Id { get; } = id;

    public RealtimeStream Stream { get; } = stream;

    public string ClientId => Stream.ClientId;

    /// <summary>Age at which this stream is replaced (the lifetime setting, less its jitter).</summary>
    public TimeSpan Lifetime { get; } = lifetime;

    /// <summary>The topic set PocketBase last accepted for this stream; guarded by the connection's POST gate.</summary>
    public HashSet<string> Accepted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Completes with the reason reading stopped.</summary>
    public Task<string> Reader { get; set; } = Task.FromResult("not_started");

    /// <summary>
    /// The token this stream's POSTs carry instead of the subscriber's, while a hand-over sets it up for another user (the
    /// subscriber's token is still the old holder's until the stream becomes current); guarded by the POST gate.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Set before the stream is closed on purpose (replaced by a rotation): its end is no loss.</summary>
    public bool Retired { get; set; }
}
