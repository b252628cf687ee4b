using System.ComponentModel.DataAnnotations;

namespace Relay.Auth;

/// <summary>Settings under <c>Relay:Auth</c>.</summary>
internal sealed class AuthOptions
{
    public const string SectionName = "Relay:Auth";

    /// <summary>
    /// How long PocketBase's verdict on a token is reused, so that several tabs connecting at once cost one
    /// <c>auth-refresh</c>. Never longer than the token's own expiry.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan VerificationCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most verdicts cached at once; bounds memory under a flood of distinct forged tokens.</summary>
    [Range(1, 1_000_000)]
    public int VerificationCacheSize { get; set; } = 10_000;

    /// <summary>
    /// How long before a session's token expires Relay refreshes it through PocketBase (at most half its remaining
    /// life), so the user's stream never runs on an expired token.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often a live session's token is checked with PocketBase even when far from expiry, so a deleted user or a
    /// changed password (which revoke the token) cuts the user off within this time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RevalidateInterval { get; set; } = TimeSpan.FromMinutes(5);
}
