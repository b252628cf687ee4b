using System.Globalization;

namespace Relay.Bench;

internal sealed record ScenarioResult(
    string Scenario,
    string Path,
    int Connections,
    int Writes,
    long Expected,
    long Delivered,
    double Seconds,
    double P50,
    double P95,
    double P99,
    double Max,
    double RelayCpuSeconds,
    double RelayPeakMb,
    double PocketBaseCpuSeconds,
    int UpstreamStreams,
    string Note = "")
{
    public static string Header =>
        "| scenario | path | connections | writes | delivered / expected | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | Relay CPU s | Relay peak RSS MB | PocketBase CPU s | PocketBase streams | note |\n"
        + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

    public string Row => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Scenario} | {Path} | {Connections} | {Writes} | {Delivered} / {Expected} | {Delivered / Math.Max(Seconds, 0.001):0} | {P50:0.00} | {P95:0.00} | {P99:0.00} | {Max:0.0} | {RelayCpuSeconds:0.0} | {RelayPeakMb:0} | {PocketBaseCpuSeconds:0.0} | {UpstreamStreams} | {Note} |");
}
