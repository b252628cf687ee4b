namespace Relay.Bench;

/// <summary>Wall-clock microseconds: writer and clients run on one machine, so one clock stamps and reads <c>sentAt</c>.</summary>
internal static class Clock
{
    public static double NowMicroseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10.0;

    public static RecordSink Measure(LatencyHistogram histogram) => sentAt => histogram.Record((NowMicroseconds() - sentAt) / 1000.0);
}
