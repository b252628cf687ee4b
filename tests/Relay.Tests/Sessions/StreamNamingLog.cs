using Relay.Client.Protocol;
using Relay.Sessions;
using Relay.Upstream;

namespace Relay.Tests.Sessions;

/// <summary>
/// A session log over several streams as the cluster's is to the session: an offset <c>sN</c> is of stream N, and a
/// read is covered only on the stream it names. Records the stream each read was asked for.
/// </summary>
internal sealed class StreamNamingLog(MemorySessionEventLog inner) : ISessionEventLog, ISessionEventLogFactory
{
    public List<(string Offset, string StreamName)> Reads { get; } = [];

    public string? Head => inner.Head;

    public ISessionEventLog Create(SessionKey key) => this;

    public int? StreamIndexOf(string offset) => offset.StartsWith('s') && int.TryParse(offset.AsSpan(1), out var index) ? index : null;

    public bool TryReadSince(string offset, string upstreamTopic, string streamName, out IReadOnlyList<RelayEvent> events)
    {
        Reads.Add((offset, streamName));
        events = [];
        return StreamIndexOf(offset) is { } index && streamName == (index == 0 ? "guest" : $"guest#{index}");
    }

    public bool TryReadSince(string offset, string upstreamTopic, out IReadOnlyList<RelayEvent> events) => TryReadSince(offset, upstreamTopic, "guest", out events);

    public void Hold(string upstreamTopic) => inner.Hold(upstreamTopic);

    public void Release(string upstreamTopic) => inner.Release(upstreamTopic);

    public string Append(string upstreamTopic, RelayEvent relayEvent) => inner.Append(upstreamTopic, relayEvent);

    public void Observe(UpstreamEvent upstreamEvent) => inner.Observe(upstreamEvent);

    public void MarkGap() => inner.MarkGap();
}
