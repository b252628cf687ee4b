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
    double ClientsCpuSeconds,
    int UpstreamStreams,
    string Note = "")
{
    public static string Header =>
        "| scenario | path | connections | writes | delivered / expected | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | Relay CPU s | Relay CPU µs/delivery | Relay peak RSS MB | PocketBase CPU s | clients CPU s | PocketBase streams | PocketBase CPU µs/write | PocketBase CPU µs/(stream, write) | note |\n"
        + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

    public bool Failed { get; init; }

    /// <summary>A run that threw: recorded as a row, so one failing path never loses the rest of the run.</summary>
    public static ScenarioResult Failure(string scenario, string path, int connections, string note, Exception exception)
        => new(scenario, path, connections, 0, 0, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN, 0, 0, 0, 0, 0, $"{note}; FAILED: {exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}")
        {
            Failed = true,
        };

    public string Row => Failed
        ? $"| {Scenario} | {Path} | {Connections} | — | — | — | — | — | — | — | — | — | — | — | — | — | — | — | {Note} |"
        : string.Create(
            CultureInfo.InvariantCulture,
            $"| {Scenario} | {Path} | {Connections} | {Writes} | {Delivered} / {Expected} | {Delivered / Math.Max(Seconds, 0.001):0} | {P50:0.00} | {P95:0.00} | {P99:0.00} | {Max:0.0} | {RelayCpuSeconds:0.0} | {(Path == ScenarioRunner.Direct || Delivered == 0 ? "—" : (RelayCpuSeconds * 1e6 / Delivered).ToString("0.0", CultureInfo.InvariantCulture))} | {RelayPeakMb:0} | {PocketBaseCpuSeconds:0.0} | {ClientsCpuSeconds:0.0} | {UpstreamStreams} | {PerWrite(1)} | {PerWrite(UpstreamStreams)} | {Note} |");

    /// <summary>
    /// PocketBase's CPU per write, or per (stream, write) with <paramref name="streams"/>: every stream subscribed to the
    /// written collection costs PocketBase a rule check per write, delivered or not (all of a scenario's streams are).
    /// </summary>
    private string PerWrite(int streams) => Writes == 0 || streams == 0
        ? "—"
        : (PocketBaseCpuSeconds * 1e6 / Writes / streams).ToString("0.0", CultureInfo.InvariantCulture);
}
