using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Relay.Client.Protocol;

namespace Relay.Fanout;

/// <summary>
/// <c>relay.shared.commit_lag</c>: milliseconds from PocketBase's commit of a record (its <c>updated</c> field) to the
/// moment Relay hands the event to the fan-out, observed once per event a stream carried (not per connection). Creates
/// and updates only: a delete carries the record as it was before, whose <c>updated</c> is older than the delete.
/// PocketBase's clock against Relay's, so skew between the two machines adds to it; a negative difference (Relay's
/// clock behind) is recorded as 0. The instrument is shared streams' (<c>SharedStreamsMetrics.CommitLag</c>), handed in
/// at registration so that Fanout does not depend on SharedStreams.
/// </summary>
internal sealed class CommitLagRecorder(Histogram<double> histogram, TimeProvider timeProvider)
{
    // 0.22 and 0.23+ both write "2024-01-01 10:00:00.123Z" (milliseconds, UTC); the fraction is optional on purpose,
    // in case a version trims trailing zeros.
    private static readonly string[] Formats = ["yyyy-MM-dd HH:mm:ss.FFFFFFK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFK"];

    public void Observe(RelayEvent relayEvent, string? collection)
    {
        // Nothing is parsed unless a listener (the Prometheus exporter, a test) is collecting this instrument.
        if (!histogram.Enabled || relayEvent.Action == RelayActions.Delete)
        {
            return;
        }

        if (!TryGetUpdated(relayEvent.Record, out var updated))
        {
            return;
        }

        var lag = (timeProvider.GetUtcNow() - updated).TotalMilliseconds;
        histogram.Record(Math.Max(0, lag), new KeyValuePair<string, object?>("collection", collection ?? CollectionOf(relayEvent.Record)));
    }

    /// <summary>The record's <c>updated</c> time, in either version's text form.</summary>
    public static bool TryGetUpdated(JsonElement record, out DateTimeOffset updated)
    {
        updated = default;
        return record.ValueKind == JsonValueKind.Object
            && record.TryGetProperty("updated", out var value)
            && value.ValueKind == JsonValueKind.String
            && TryParse(value.GetString(), out updated);
    }

    public static bool TryParse(string? text, out DateTimeOffset value)
        => DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static string? CollectionOf(JsonElement record)
        => record.ValueKind == JsonValueKind.Object && record.TryGetProperty("collectionName", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;
}
