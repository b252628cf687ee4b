namespace Relay.Auth;

/// <summary>
/// The client address had too many tokens refused lately; its token was not sent to PocketBase. Answered 429 with
/// <c>Retry-After</c> (or <c>rate_limited</c> on the hub).
/// </summary>
internal sealed class VerificationRateLimitedException(TimeSpan retryAfter)
    : Exception("Too many refused tokens from this address; retry later.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
