using System.Text.Json;

namespace Relay.Bench;

/// <summary>Wall-clock microseconds: writer and clients run on one machine, so one clock stamps and reads <c>sentAt</c>.</summary>
internal static class Clock
{
    public static double NowMicroseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10.0;

    public static RecordSink Measure(LatencyHistogram histogram) => record =>
    {
        if (record.TryGetProperty("sentAt", out var sentAt) && sentAt.ValueKind == JsonValueKind.Number)
        {
            histogram.Record((NowMicroseconds() - sentAt.GetDouble()) / 1000.0);
        }
    };
}
