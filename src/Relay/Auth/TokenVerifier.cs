using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Relay.Upstream;

namespace Relay.Auth;

/// <summary>
/// Asks PocketBase whether a token is valid (<c>POST /api/collections/{collection}/auth-refresh</c>) and caches the
/// verdict briefly, so the tabs of one user opening together cost one call. The cache is keyed by the token's SHA-256,
/// holds refusals too (a flood of one forged token costs one call) and is bounded in size.
/// </summary>
internal sealed partial class TokenVerifier : IDisposable
{
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly AuthOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly MemoryCache _cache;

    public TokenVerifier(IHttpClientFactory httpClientFactory, IOptions<AuthOptions> options, TimeProvider timeProvider, ILogger<TokenVerifier> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.VerificationCacheSize });
    }

    /// <exception cref="UpstreamException">PocketBase could not be asked; the token is neither valid nor invalid.</exception>
    public async Task<TokenVerdict> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        if (!JwtPayload.TryRead(token, out var payload))
        {
            return TokenVerdict.Invalid("not a PocketBase auth record token");
        }

        var now = _timeProvider.GetUtcNow();
        if (payload.ExpiresAt <= now)
        {
            return TokenVerdict.Invalid("expired");
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_cache.TryGetValue(key, out Task<TokenVerdict>? cached) && cached is not null)
        {
            return await cached.WaitAsync(cancellationToken);
        }

        // Not tied to the caller's cancellation: other callers may be awaiting the same task.
        var verification = VerifyWithPocketBaseAsync(token, payload.CollectionId);
        var lifetime = TimeSpan.FromTicks(Math.Min(_options.VerificationCacheDuration.Ticks, (payload.ExpiresAt - now).Ticks));
        if (lifetime > TimeSpan.Zero)
        {
            _ = _cache.Set(key, verification, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = lifetime });
        }

        try
        {
            return await verification.WaitAsync(cancellationToken);
        }
        catch (UpstreamException)
        {
            // No verdict: the next attempt must ask PocketBase again.
            _cache.Remove(key);
            throw;
        }
    }

    /// <summary>Exchanges <paramref name="token"/> for a fresh one, bypassing the cache: a refusal now means the token was revoked.</summary>
    /// <exception cref="UpstreamException">PocketBase could not be asked.</exception>
    public Task<TokenVerdict> RefreshAsync(string token)
    {
        if (!JwtPayload.TryRead(token, out var payload))
        {
            return Task.FromResult(TokenVerdict.Invalid("not a PocketBase auth record token"));
        }

        return payload.ExpiresAt <= _timeProvider.GetUtcNow()
            ? Task.FromResult(TokenVerdict.Invalid("expired"))
            : VerifyWithPocketBaseAsync(token, payload.CollectionId);
    }

    public void Dispose() => _cache.Dispose();

    private async Task<TokenVerdict> VerifyWithPocketBaseAsync(string token, string collectionId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/collections/{Uri.EscapeDataString(collectionId)}/auth-refresh");
        request.Headers.TryAddWithoutValidation("Authorization", token);
        HttpResponseMessage response;
        try
        {
            response = await _httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Log.VerificationUnavailable(_logger, ex);
            throw new UpstreamException("PocketBase could not be reached to verify a token.", innerException: ex);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
            {
                return TokenVerdict.Invalid($"refused by PocketBase ({(int)response.StatusCode})");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new UpstreamException($"PocketBase answered auth-refresh with {(int)response.StatusCode}.", response.StatusCode);
            }

            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            var root = document.RootElement;
            if (!root.TryGetProperty("token", out var fresh) || fresh.GetString() is not { Length: > 0 } freshToken
                || !root.TryGetProperty("record", out var record)
                || record.GetProperty("id").GetString() is not { Length: > 0 } recordId
                || record.GetProperty("collectionId").GetString() is not { Length: > 0 } verifiedCollection
                || !JwtPayload.TryRead(freshToken, out var freshPayload))
            {
                throw new UpstreamException("PocketBase's auth-refresh answer lacked a token or record.");
            }

            var collectionName = record.TryGetProperty("collectionName", out var name) ? name.GetString() ?? verifiedCollection : verifiedCollection;
            return TokenVerdict.Valid(new VerifiedToken(verifiedCollection, collectionName, recordId, freshToken, freshPayload.ExpiresAt));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "PocketBase could not be reached to verify a token.")]
        public static partial void VerificationUnavailable(ILogger logger, Exception exception);
    }
}
