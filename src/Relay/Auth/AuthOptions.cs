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

    /// <summary>
    /// The most <c>auth-refresh</c> calls in flight to PocketBase at once, whoever makes them (connects, reauthentication,
    /// session refreshes), so a flood of tokens cannot push PocketBase, or its per-address rate limiter, over the edge.
    /// </summary>
    [Range(1, 1000)]
    public int MaxConcurrentVerifications { get; set; } = 16;

    /// <summary>Verifications waiting for a free slot; beyond it a connect is answered 503 with <c>Retry-After</c> at once.</summary>
    [Range(0, 100_000)]
    public int VerificationQueueLimit { get; set; } = 256;

    /// <summary>How long a connect waits for a free verification slot before it is answered 503 with <c>Retry-After</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan VerificationQueueTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Tokens PocketBase may refuse for one client address (IPv6: one /64) in a burst; after that the address is
    /// answered 429 with <c>Retry-After</c> without asking PocketBase, and regains one attempt per
    /// <see cref="FailedVerificationWindow"/> / this number.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxFailedVerificationsPerIp { get; set; } = 10;

    /// <summary>The window <see cref="MaxFailedVerificationsPerIp"/> refills over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailedVerificationWindow { get; set; } = TimeSpan.FromMinutes(1);
}
