using Relay.PocketBase;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Auth;

/// <summary>
/// Cached "valid" verdicts must not outlive a revocation Relay has seen. A session's token is refreshed into a new
/// one, so when PocketBase refuses the session's token (password changed, user deleted), the token the client first
/// connected with may still sit in the cache as valid for up to <see cref="AuthOptions.VerificationCacheDuration"/>:
/// a stolen token reconnected at once on it and joined the user's next session. So for that long after a session
/// token of a user is refused, that user's tokens are verified with PocketBase, never from the cache.
/// </summary>
internal sealed partial class TokenVerifier
{
    /// <summary>User (collection id / record id) → timestamp of the refusal; one entry per ended session at most, pruned as it ages.</summary>
    private readonly ConcurrentDictionary<string, long> _revokedUsers = new(StringComparer.Ordinal);

    private static string CacheKey(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string UserKey(JwtPayload payload) => payload.CollectionId + "/" + payload.RecordId;

    /// <param name="token">The token PocketBase just answered for.</param>
    /// <param name="verdict">PocketBase's answer.</param>
    /// <param name="revokesUser">
    /// The claims of a session's own token (verified before, so a refusal is a revocation of the user's tokens); null for
    /// a token a client presented, whose refusal says nothing about the user's other tokens (it may be forged).
    /// </param>
    private TokenVerdict ForgetIfRefused(string token, TokenVerdict verdict, JwtPayload? revokesUser)
    {
        if (verdict.Token is not null)
        {
            return verdict;
        }

        _cache.Remove(CacheKey(token));
        if (revokesUser is { } user)
        {
            var now = _timeProvider.GetTimestamp();
            _revokedUsers[UserKey(user)] = now;
            foreach (var (key, at) in _revokedUsers)
            {
                if (_timeProvider.GetElapsedTime(at, now) >= _options.VerificationCacheDuration)
                {
                    _revokedUsers.TryRemove(new KeyValuePair<string, long>(key, at));
                }
            }
        }

        return verdict;
    }

    /// <summary>Whether a verdict on this user's token cached before a revocation might still be in the cache.</summary>
    private bool RecentlyRevoked(JwtPayload payload)
        => _revokedUsers.TryGetValue(UserKey(payload), out var at) && _timeProvider.GetElapsedTime(at) < _options.VerificationCacheDuration;
}
