using System.Text.Json;

namespace Relay.Bench;

/// <summary>Where a client hands each delivery: the record's <c>sentAt</c> (wall-clock µs), from which the sink measures latency.</summary>
internal delegate void RecordSink(double sentAt);

internal static class RecordSinkExtensions
{
    /// <summary>Hands on the <c>sentAt</c> of a decoded record (records without one are not the bench's and not counted).</summary>
    public static void Deliver(this RecordSink sink, JsonElement record)
    {
        if (record.TryGetProperty("sentAt", out var sentAt) && sentAt.ValueKind == JsonValueKind.Number)
        {
            sink(sentAt.GetDouble());
        }
    }
}
