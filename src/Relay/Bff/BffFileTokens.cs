using System.Buffers.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// PocketBase file tokens (<c>POST /api/files/token</c>) that Relay obtains for a session when it proxies a file, so
/// protected files work through the BFF while the token itself never reaches the browser. One per session, reused
/// until shortly before it expires; concurrent file requests of one page share one call.
/// </summary>
internal sealed partial class BffFileTokens(IHttpClientFactory httpClientFactory, TimeProvider timeProvider, ILogger<BffFileTokens> logger) : IDisposable
{
    /// <summary>Sessions whose file token is kept; beyond it the least recently added are dropped and fetched again.</summary>
    private const int MaxCached = 10_000;

    private static readonly TimeSpan RefetchBefore = TimeSpan.FromSeconds(30);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxCached });

    /// <summary>A file token for <paramref name="session"/>; null when PocketBase gave none (the file is then asked for without one).</summary>
    public async Task<string?> GetAsync(BffSession session, CancellationToken cancellationToken)
    {
        var key = BffSessionHash.Of(session.Id);
        if (_cache.TryGetValue(key, out Task<string?>? cached) && cached is not null)
        {
            return await cached.WaitAsync(cancellationToken);
        }

        var fetch = FetchAsync(session);
        // Cached at once, so the other requests of the page await the same call; shortened once the token is known.
        _ = _cache.Set(key, fetch, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10) });
        var token = await fetch.WaitAsync(cancellationToken);
        if (token is not null && TryReadExpiry(token, out var expiresAt))
        {
            var keep = expiresAt - timeProvider.GetUtcNow() - RefetchBefore;
            if (keep > TimeSpan.Zero)
            {
                _ = _cache.Set(key, fetch, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = keep });
            }
            else
            {
                _cache.Remove(key);
            }
        }
        else
        {
            _cache.Remove(key);
        }

        return token;
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>Reads <c>exp</c> only: a file token is not an auth token, and its claims matter to Relay for caching alone.</summary>
    internal static bool TryReadExpiry(string token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        var parts = token.Split('.');
        if (parts.Length != 3 || token.Length > 4096)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds))
            {
                expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
                return true;
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
        }

        return false;
    }

    private async Task<string?> FetchAsync(BffSession session)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/files/token");
            request.Headers.TryAddWithoutValidation("Authorization", session.Token);
            using var response = await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                Log.FileTokenRefused(logger, session.Name, (int)response.StatusCode);
                return null;
            }

            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("token", out var token) && token.GetString() is { Length: > 0 } value
                ? value
                : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or IOException)
        {
            Log.FileTokenUnavailable(logger, session.Name, ex);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7060, LogLevel.Debug, "PocketBase gave no file token to the BFF session of {User} ({Status}); the file is asked for without one.")]
        public static partial void FileTokenRefused(ILogger logger, string user, int status);

        [LoggerMessage(7061, LogLevel.Warning, "PocketBase could not be asked for a file token for the BFF session of {User}; the file is asked for without one.")]
        public static partial void FileTokenUnavailable(ILogger logger, string user, Exception exception);
    }
}
