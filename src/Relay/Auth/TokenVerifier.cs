using System.Net;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Auth;

/// <summary>
/// Asks PocketBase whether a token is valid (<c>POST /api/collections/{collection}/auth-refresh</c>) and caches the
/// verdict briefly, so the tabs of one user opening together cost one call. The cache is keyed by the token's SHA-256,
/// holds refusals too (a flood of one forged token costs one call) and is bounded in size. Tokens that cannot be
/// PocketBase auth tokens never reach PocketBase, calls in flight are bounded and addresses that keep presenting
/// refused tokens are cut off (<see cref="VerificationThrottle"/>).
/// </summary>
internal sealed partial class TokenVerifier : IDisposable
{
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly AuthOptions _options;
    private readonly VerificationThrottle _throttle;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly MemoryCache _cache;

    public TokenVerifier(
        IHttpClientFactory httpClientFactory,
        IOptions<AuthOptions> options,
        VerificationThrottle throttle,
        RelayMetrics metrics,
        TimeProvider timeProvider,
        ILogger<TokenVerifier> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        _throttle = throttle;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.VerificationCacheSize });
    }

    /// <inheritdoc cref="VerifyAsync(string, IPAddress?, CancellationToken)"/>
    public Task<TokenVerdict> VerifyAsync(string token, CancellationToken cancellationToken) => VerifyAsync(token, client: null, cancellationToken);

    /// <summary>Verifies a token a client presented, reusing a recent verdict on the same token.</summary>
    /// <param name="token">The token as the client sent it.</param>
    /// <param name="client">The client's address (<see cref="ClientIp.ClientAddress"/>); null exempts the call from per-address limits.</param>
    /// <param name="cancellationToken">Stops waiting; the call to PocketBase itself completes for other waiters.</param>
    /// <exception cref="UpstreamException">PocketBase could not be asked (unreachable, or too many verifications in flight).</exception>
    /// <exception cref="VerificationRateLimitedException"><paramref name="client"/> had too many tokens refused lately.</exception>
    public async Task<TokenVerdict> VerifyAsync(string token, IPAddress? client, CancellationToken cancellationToken)
    {
        if (!TryReadLive(token, out var payload, out var refusal))
        {
            return refusal;
        }

        var key = CacheKey(token);
        if (!RecentlyRevoked(payload) && _cache.TryGetValue(key, out Task<TokenVerdict>? cached) && cached is not null)
        {
            return await cached.WaitAsync(cancellationToken);
        }

        // Fails fast, before taking a place in the queue: a cut-off address must not crowd out others while it waits.
        ThrowIfOverBudget(client);

        // Not tied to the caller's cancellation: other callers may be awaiting the same task.
        var verification = VerifyLimitedAsync(token, payload.CollectionId, client, _options.VerificationQueueTimeout, CancellationToken.None);
        var lifetime = TimeSpan.FromTicks(Math.Min(_options.VerificationCacheDuration.Ticks, (payload.ExpiresAt - _timeProvider.GetUtcNow()).Ticks));
        if (lifetime > TimeSpan.Zero)
        {
            _ = _cache.Set(key, verification, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = lifetime });
        }

        try
        {
            return await verification.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is UpstreamException or VerificationRateLimitedException)
        {
            // No verdict: the next attempt must ask PocketBase again.
            _cache.Remove(key);
            throw;
        }
    }

    /// <summary>
    /// Verifies a token with PocketBase now, ignoring any cached verdict: a token revoked seconds ago (password changed)
    /// must not be accepted again because an earlier verdict said it was valid.
    /// </summary>
    /// <exception cref="UpstreamException">PocketBase could not be asked.</exception>
    /// <exception cref="VerificationRateLimitedException"><paramref name="client"/> had too many tokens refused lately.</exception>
    public async Task<TokenVerdict> VerifyUncachedAsync(string token, IPAddress? client, CancellationToken cancellationToken)
    {
        if (!TryReadLive(token, out var payload, out var refusal))
        {
            return refusal;
        }

        ThrowIfOverBudget(client);
        return ForgetIfRefused(token, await VerifyLimitedAsync(token, payload.CollectionId, client, _options.VerificationQueueTimeout, cancellationToken), revokesUser: null);
    }

    /// <summary>
    /// Exchanges <paramref name="token"/> (a session's own) for a fresh one, bypassing the cache: a refusal now means
    /// the token was revoked, and with it every token of that user cached as valid (<see cref="ForgetIfRefused"/>).
    /// </summary>
    /// <exception cref="UpstreamException">PocketBase could not be asked.</exception>
    public async Task<TokenVerdict> RefreshAsync(string token)
    {
        // A session's own refresh is not a client's attempt: no per-address budget, and it may wait out a flood.
        return TryReadLive(token, out var payload, out var refusal)
            ? ForgetIfRefused(token, await VerifyLimitedAsync(token, payload.CollectionId, client: null, _options.VerificationQueueTimeout * 5, CancellationToken.None), revokesUser: payload)
            : refusal;
    }

    public void Dispose() => _cache.Dispose();

    private bool TryReadLive(string token, out JwtPayload payload, out TokenVerdict refusal)
    {
        if (!JwtPayload.TryRead(token, out payload))
        {
            _metrics.TokenVerification("malformed");
            refusal = TokenVerdict.Invalid("not a PocketBase auth record token");
            return false;
        }

        if (payload.ExpiresAt <= _timeProvider.GetUtcNow())
        {
            _metrics.TokenVerification("expired");
            refusal = TokenVerdict.Invalid("expired");
            return false;
        }

        refusal = default;
        return true;
    }

    private void ThrowIfOverBudget(IPAddress? client)
    {
        if (client is null)
        {
            return;
        }

        try
        {
            _throttle.EnsureFailureBudget(client);
        }
        catch (VerificationRateLimitedException)
        {
            _metrics.TokenVerification("rate_limited");
            throw;
        }
    }

    private async Task<TokenVerdict> VerifyLimitedAsync(string token, string collectionId, IPAddress? client, TimeSpan wait, CancellationToken cancellationToken)
    {
        using (var lease = await AcquireCallAsync(wait, cancellationToken))
        {
            // Checked again with the slot in hand: the calls ahead in the queue may have used up the address's budget.
            ThrowIfOverBudget(client);
            var verdict = await CallPocketBaseAsync(token, collectionId);
            _metrics.TokenVerification(verdict.Token is null ? "refused" : "valid");
            if (verdict.Token is null && client is not null)
            {
                _throttle.RecordFailure(client);
            }

            return verdict;
        }
    }

    private async ValueTask<System.Threading.RateLimiting.RateLimitLease> AcquireCallAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await _throttle.AcquireCallAsync(wait, cancellationToken);
        }
        catch (UpstreamException)
        {
            _metrics.TokenVerification("busy");
            Log.VerificationBusy(_logger, _options.MaxConcurrentVerifications);
            throw;
        }
    }
}
