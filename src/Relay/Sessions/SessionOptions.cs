using System.ComponentModel.DataAnnotations;

namespace Relay.Sessions;

/// <summary>Settings under <c>Relay:Sessions</c>.</summary>
internal sealed class SessionOptions
{
    public const string SectionName = "Relay:Sessions";

    /// <summary>
    /// How long a user's session, and so its PocketBase stream, outlives its last connection. A page reload reconnects
    /// within this time and finds the stream still open.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most distinct topics one session holds upstream (PocketBase refuses more than 1000 per client).</summary>
    [Range(1, 1000)]
    public int MaxTopicsPerSession { get; set; } = 1000;

    /// <summary>
    /// The most topics the guest session holds on one PocketBase stream; past it the guest topic set is spread over
    /// another stream, so one stream (and whoever fills it) never holds the whole guest budget.
    /// </summary>
    [Range(1, 1000)]
    public int GuestTopicsPerStream { get; set; } = 250;

    /// <summary>The most PocketBase streams the guest session opens; the guest budget is GuestTopicsPerStream times this.</summary>
    [Range(1, 100)]
    public int MaxGuestStreams { get; set; } = 8;
}
