using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// BFF sessions: signing in (a random session id in a Data Protection cookie, the token in the store), resolving a
/// request's cookie to a live session (refreshing the token and re-checking it with PocketBase when due, as the hub's
/// sessions do), and ending a session everywhere.
/// </summary>
internal sealed partial class BffSessions(
    IBffSessionStore store,
    BffPocketBase pocketBase,
    BffHubConnections hubConnections,
    IOptions<BffOptions> options,
    IOptions<AuthOptions> authOptions,
    IOptionsMonitor<CookieAuthenticationOptions> cookieOptions,
    RelayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<BffSessions> logger)
{
    private static readonly object ResolutionKey = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<BffSession?>>> _refreshing = new(StringComparer.Ordinal);

    public string CookieName => cookieOptions.Get(BffDefaults.Scheme).Cookie.Name!;

    public async Task<BffSession> SignInAsync(HttpContext context, BffAuthResult result, string method)
    {
        var now = timeProvider.GetUtcNow();
        var session = new BffSession(
            Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)),
            result.CollectionId,
            result.CollectionName,
            result.RecordId,
            result.Token!,
            result.TokenExpiresAt,
            ValidatedAt: now,
            SessionExpiresAt: now + options.Value.SessionLifetime,
            result.Record.GetRawText());
        await store.SetAsync(session, context.RequestAborted);

        // Sign-ins whose cookie never comes back (a script, a stolen password tried again and again) must not pile up
        // sessions, each holding a token for the session's lifetime: beyond the cap the user's oldest end.
        foreach (var evicted in await store.TrimUserAsync(session, options.Value.MaxSessionsPerUser, context.RequestAborted))
        {
            Ended(evicted, BffSessionEndReasons.OverCap);
        }

        var identity = new ClaimsIdentity([new Claim(BffDefaults.SessionIdClaim, session.Id)], BffDefaults.Scheme);
        await context.SignInAsync(
            BffDefaults.Scheme,
            new ClaimsPrincipal(identity),
            new AuthenticationProperties { ExpiresUtc = session.SessionExpiresAt, IsPersistent = false, AllowRefresh = false });
        Log.SignedIn(logger, session.Name, method);
        return session;
    }

    /// <summary>The request's session, kept alive; cached for the rest of the request.</summary>
    /// <exception cref="UpstreamException">The token is due for a check and PocketBase cannot be asked.</exception>
    public async Task<BffResolution> ResolveAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(ResolutionKey, out var cached) && cached is BffResolution known)
        {
            return known;
        }

        var resolution = await ResolveUncachedAsync(context);
        context.Items[ResolutionKey] = resolution;
        return resolution;
    }

    /// <summary>The session id in the request's cookie, without looking it up; null when there is no valid cookie.</summary>
    public async Task<string?> ReadSessionIdAsync(HttpContext context)
    {
        if (!context.Request.Cookies.ContainsKey(CookieName))
        {
            return null;
        }

        var authentication = await context.AuthenticateAsync(BffDefaults.Scheme);
        return authentication.Principal?.FindFirst(BffDefaults.SessionIdClaim)?.Value;
    }

    /// <summary>Ends the session: the token is forgotten, its hub connections are closed and, with a context, the cookie is deleted.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="context">The request whose cookie is deleted; null when the session is not the caller's own cookie.</param>
    /// <param name="reason">One of <see cref="BffSessionEndReasons"/>, for logs and metrics.</param>
    public async Task EndAsync(string sessionId, HttpContext? context, string reason)
    {
        await EndByHashAsync(BffSessionHash.Of(sessionId), reason);
        if (context is not null)
        {
            await context.SignOutAsync(BffDefaults.Scheme);
            context.Items[ResolutionKey] = BffResolution.Rejected;
        }
    }

    /// <summary>Ends the session whose id hashes to <paramref name="hash"/> (an OAuth2 sign-in knows its browser's previous session only so).</summary>
    public async Task EndByHashAsync(string hash, string reason)
    {
        await store.RemoveAsync(hash, CancellationToken.None);
        Ended(hash, reason);
    }

    private void Ended(string hash, string reason)
    {
        var closed = hubConnections.CloseAllByHash(hash);
        metrics.BffSessionEnded(reason);
        Log.SessionEnded(logger, reason, closed);
    }

    /// <summary>Deletes a cookie that no longer stands for a session, so the browser stops sending it.</summary>
    public static Task ForgetCookieAsync(HttpContext context) => context.SignOutAsync(BffDefaults.Scheme);

    private async Task<BffResolution> ResolveUncachedAsync(HttpContext context)
    {
        if (!context.Request.Cookies.ContainsKey(CookieName))
        {
            return BffResolution.None;
        }

        var id = await ReadSessionIdAsync(context);
        if (id is null)
        {
            Log.CookieRefused(logger, "not readable (forged, expired, or from another deployment)");
            return BffResolution.Rejected;
        }

        var session = await store.GetAsync(id, context.RequestAborted);
        if (session is null)
        {
            Log.CookieRefused(logger, "its session has ended");
            return BffResolution.Rejected;
        }

        if (PocketBaseAuthAnswer.IsSuperusersCollection(session.CollectionName))
        {
            // Only a session stored before superusers were refused at sign-in can be one; it ends now.
            await EndAsync(id, context: null, BffSessionEndReasons.Superuser);
            return BffResolution.Rejected;
        }

        session = await KeepAliveAsync(session);
        return session is null ? BffResolution.Rejected : BffResolution.For(session);
    }

    /// <summary>Refreshes the token when close to expiry or not checked for <see cref="AuthOptions.RevalidateInterval"/>; null when PocketBase revoked it.</summary>
    internal Task<BffSession?> KeepAliveAsync(BffSession session)
    {
        var now = timeProvider.GetUtcNow();
        var auth = authOptions.Value;
        var refreshBefore = TimeSpan.FromTicks(Math.Min(auth.RefreshBefore.Ticks, (session.TokenExpiresAt - session.ValidatedAt).Ticks / 2));
        if (now < session.ValidatedAt + auth.RevalidateInterval && now < session.TokenExpiresAt - refreshBefore)
        {
            return Task.FromResult<BffSession?>(session);
        }

        // One refresh per session at a time: a page firing ten calls at once costs one auth-refresh. Lazy, because
        // GetOrAdd may run its factory more than once under contention; removed by identity once done, so a late
        // removal never drops a newer refresh.
        var refresh = _refreshing.GetOrAdd(session.Id, static (_, state) => new Lazy<Task<BffSession?>>(() => state.Sessions.RefreshAsync(state.Session)), (Sessions: this, Session: session));
        var task = refresh.Value;
        _ = task.ContinueWith(
            static (_, state) =>
            {
                var (refreshing, id, done) = ((ConcurrentDictionary<string, Lazy<Task<BffSession?>>>, string, Lazy<Task<BffSession?>>))state!;
                refreshing.TryRemove(KeyValuePair.Create(id, done));
            },
            (_refreshing, session.Id, refresh),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return task;
    }

    private async Task<BffSession?> RefreshAsync(BffSession session)
    {
        BffAuthResult result;
        try
        {
            result = await pocketBase.RefreshAsync(session.CollectionId, session.Token, CancellationToken.None);
        }
        catch (UpstreamException ex)
        {
            Log.RefreshUnavailable(logger, session.Name, ex);
            if (session.TokenExpiresAt > timeProvider.GetUtcNow())
            {
                return session;
            }

            throw;
        }

        if (!result.Succeeded || result.RecordId != session.RecordId || result.CollectionId != session.CollectionId)
        {
            await EndAsync(session.Id, context: null, BffSessionEndReasons.Revoked);
            return null;
        }

        var fresh = session with
        {
            Token = result.Token!,
            TokenExpiresAt = result.TokenExpiresAt,
            ValidatedAt = timeProvider.GetUtcNow(),
            RecordJson = result.Record.GetRawText(),
        };
        if (!await store.ReplaceAsync(fresh, CancellationToken.None))
        {
            // Signed out (or signed in again) while PocketBase was being asked: the session stays ended.
            Log.EndedWhileRefreshing(logger, session.Name);
            return null;
        }

        Log.Refreshed(logger, fresh.Name, fresh.TokenExpiresAt);
        return fresh;
    }

    private static partial class Log
    {
        [LoggerMessage(7001, LogLevel.Information, "BFF session of {User} signed in ({Method}).")]
        public static partial void SignedIn(ILogger logger, string user, string method);

        [LoggerMessage(7002, LogLevel.Information, "BFF session ended: {Reason}; {Connections} hub connection(s) closed.")]
        public static partial void SessionEnded(ILogger logger, string reason, int connections);

        [LoggerMessage(7003, LogLevel.Debug, "BFF session cookie refused: {Reason}.")]
        public static partial void CookieRefused(ILogger logger, string reason);

        [LoggerMessage(7004, LogLevel.Debug, "BFF session of {User} refreshed; its token now expires at {ExpiresAt}.")]
        public static partial void Refreshed(ILogger logger, string user, DateTimeOffset expiresAt);

        [LoggerMessage(7005, LogLevel.Warning, "PocketBase could not be reached to refresh the BFF session of {User}.")]
        public static partial void RefreshUnavailable(ILogger logger, string user, Exception exception);

        [LoggerMessage(7006, LogLevel.Debug, "BFF session of {User} ended while its token was being refreshed; the fresh token is dropped.")]
        public static partial void EndedWhileRefreshing(ILogger logger, string user);
    }
}
