using System.ComponentModel.DataAnnotations;

namespace Relay.Sessions;

/// <summary>Settings under <c>Relay:History</c>: how much of each session's events is kept for clients that reconnect.</summary>
internal sealed class HistoryOptions
{
    public const string SectionName = "Relay:History";

    /// <summary>
    /// The most events kept per session (all its topics together); 0 turns recovery off (every reconnect resyncs). Memory
    /// is about this times the average record size per session with recent events.
    /// </summary>
    [Range(0, 100_000)]
    public int MaxEvents { get; set; } = 500;

    /// <summary>
    /// How long an event is kept, and how long a topic whose connections all dropped stays held upstream waiting for
    /// them to come back. A client offline longer gets <c>Resync</c>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(2);
}
