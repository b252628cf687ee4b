using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// OAuth2 sign-in through PocketBase's providers (authorization code with PKCE): <c>GET /bff/oauth2/{provider}</c> sends
/// the browser to the provider with PocketBase's state and challenge and Relay's callback as redirect URL;
/// <c>GET /bff/oauth2/callback</c> checks the state against the browser's pending sign-in, lets PocketBase exchange the
/// code (<c>auth-with-oauth2</c>) and signs the browser in. The verifier never leaves the server.
/// </summary>
internal static partial class BffOAuth2Endpoints
{
    private const string Purpose = "Relay.Bff.OAuth2";
    private const int MaxCodeLength = 4096;

    public static async Task<IResult> StartAsync(
        HttpContext context,
        string provider,
        string? collection,
        string? returnUrl,
        BffLoginLimiter limiter,
        BffPocketBase pocketBase,
        BffSessions sessions,
        IDataProtectionProvider dataProtection,
        IOptions<BffOptions> options,
        IOptions<RelayOptions> relayOptions,
        TimeProvider timeProvider)
    {
        if (!BffCsrf.IsSameOriginNavigation(context, relayOptions.Value.AllowedOrigins))
        {
            return Refuse(BffErrorCodes.CsrfRefused, "an OAuth2 sign-in starts from this site's own pages (Sec-Fetch-Site same-origin, or a same-origin Origin or Referer)", StatusCodes.Status403Forbidden);
        }

        if (!limiter.TryAcquire(context))
        {
            context.Response.Headers.RetryAfter = "60";
            return Refuse(BffErrorCodes.TooManyAttempts, "too many sign-in attempts from this address; try again later", StatusCodes.Status429TooManyRequests);
        }

        collection ??= options.Value.DefaultCollection;
        returnUrl ??= "/";
        if (provider.Length > 50 || !provider.All(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            return Refuse(BffErrorCodes.InvalidRequest, "provider must be a PocketBase provider name (lowercase letters and digits)");
        }

        if (!BffValidation.IsCollection(collection) || PocketBaseAuthAnswer.IsSuperusersCollection(collection))
        {
            return Refuse(BffErrorCodes.InvalidRequest, "collection must be a collection name (letters, digits, underscores)");
        }

        if (!IsLocalUrl(returnUrl))
        {
            return Refuse(BffErrorCodes.InvalidRequest, "returnUrl must be a path on this site (starting with a single /)");
        }

        OAuth2Provider? found;
        try
        {
            found = await pocketBase.GetOAuth2ProviderAsync(collection, provider, context.RequestAborted);
        }
        catch (UpstreamException)
        {
            return BffEndpoints.Unavailable();
        }

        if (found is null)
        {
            return Refuse(BffErrorCodes.UnknownProvider, $"PocketBase offers no OAuth2 provider '{provider}' for collection '{collection}'", StatusCodes.Status404NotFound);
        }

        var redirectUrl = $"{context.Request.Scheme}://{context.Request.Host.Value}{context.Request.PathBase}{BffDefaults.OAuth2CallbackPath}";
        var previous = await sessions.ReadSessionIdAsync(context);
        var pending = new OAuth2Pending(
            found.Name,
            found.State,
            found.CodeVerifier,
            collection,
            redirectUrl,
            returnUrl,
            timeProvider.GetUtcNow() + options.Value.OAuth2Timeout,
            previous is null ? null : BffSessionHash.Of(previous));
        var protectedPending = Protector(dataProtection).Protect(JsonSerializer.Serialize(pending, BffJsonContext.Default.OAuth2Pending));
        context.Response.Cookies.Append(PendingCookieName(sessions), protectedPending, PendingCookieOptions(context, sessions, options.Value.OAuth2Timeout));

        // PocketBase 0.22 ends authUrl with "redirect_uri=" for the caller to complete.
        return Results.Redirect(found.AuthUrl + Uri.EscapeDataString(redirectUrl));
    }

    public static async Task<IResult> CallbackAsync(
        HttpContext context,
        string? code,
        string? state,
        string? error,
        BffLoginLimiter limiter,
        BffPocketBase pocketBase,
        BffSessions sessions,
        IBffSessionStore store,
        IDataProtectionProvider dataProtection,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(BffOAuth2Endpoints));
        if (!limiter.TryAcquire(context))
        {
            // Each callback may cost PocketBase a code exchange: it counts against the address's sign-in budget.
            context.Response.Headers.RetryAfter = "60";
            return Refuse(BffErrorCodes.TooManyAttempts, "too many sign-in attempts from this address; try again later", StatusCodes.Status429TooManyRequests);
        }

        var cookieName = PendingCookieName(sessions);
        var cookie = context.Request.Cookies[cookieName];

        // One use only: whatever happens next, this pending sign-in is spent.
        context.Response.Cookies.Delete(cookieName, PendingCookieOptions(context, sessions, TimeSpan.Zero));
        var pending = Unprotect(dataProtection, cookie);
        string? refusal = pending switch
        {
            null => "no OAuth2 sign-in is in progress in this browser (or it came from elsewhere)",
            _ when pending.ExpiresAt <= timeProvider.GetUtcNow() => "the OAuth2 sign-in took too long; start again",
            _ when !string.IsNullOrEmpty(error) => "the provider refused the sign-in",
            _ when string.IsNullOrEmpty(state) || !FixedTimeEquals(state, pending.State) => "the state does not match this browser's sign-in",
            _ when string.IsNullOrEmpty(code) || code.Length > MaxCodeLength => "the provider sent no usable code",
            _ => null,
        };
        if (refusal is not null)
        {
            Log.OAuth2Refused(logger, refusal);
            return Refuse(BffErrorCodes.OAuth2Refused, refusal);
        }

        BffAuthResult result;
        try
        {
            // The cookie can be replayed until it expires; the state it carries is accepted once, by any instance.
            var remaining = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, (pending!.ExpiresAt - timeProvider.GetUtcNow()).Ticks));
            if (!await store.TryUseOnceAsync("oauth2:" + BffSessionHash.Of(pending.State), remaining, context.RequestAborted))
            {
                Log.OAuth2Refused(logger, "its state was already used");
                return Refuse(BffErrorCodes.OAuth2Refused, "this OAuth2 sign-in was already completed or refused; start again");
            }

            result = await pocketBase.AuthWithOAuth2Async(pending!.Collection, pending.Provider, code!, pending.CodeVerifier, pending.RedirectUrl, context.RequestAborted);
        }
        catch (UpstreamException)
        {
            return BffEndpoints.Unavailable();
        }

        if (!result.Succeeded)
        {
            Log.OAuth2Refused(logger, $"PocketBase answered {result.StatusCode}");
            return Refuse(BffErrorCodes.LoginFailed, result.Message ?? "PocketBase refused the sign-in", result.StatusCode is 400 or 401 or 403 ? result.StatusCode : 400);
        }

        try
        {
            // The provider's redirect is cross-site, so the SameSite=Strict session cookie is usually not here: the
            // session the browser had when it started the sign-in is ended by the hash the pending state kept.
            if (pending.PreviousSessionHash is { } previousHash)
            {
                await sessions.EndByHashAsync(previousHash, BffSessionEndReasons.SignedInAgain);
            }

            if (await sessions.ReadSessionIdAsync(context) is { } previous && BffSessionHash.Of(previous) != pending.PreviousSessionHash)
            {
                await sessions.EndAsync(previous, context: null, BffSessionEndReasons.SignedInAgain);
            }

            await sessions.SignInAsync(context, result, $"oauth2:{pending.Provider}");
        }
        catch (UpstreamException)
        {
            return BffEndpoints.Unavailable();
        }

        return Results.Redirect(pending.ReturnUrl);
    }

    /// <summary>A path on this site: one leading slash, not <c>//host</c> or <c>/\host</c> (which browsers read as another host).</summary>
    internal static bool IsLocalUrl(string url)
        => url.Length is > 0 and <= 2048
            && url[0] == '/'
            && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
            && !url.Any(char.IsControl);

    private static OAuth2Pending? Unprotect(IDataProtectionProvider dataProtection, string? cookie)
    {
        if (string.IsNullOrEmpty(cookie))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(Protector(dataProtection).Unprotect(cookie), BffJsonContext.Default.OAuth2Pending);
        }
        catch (Exception ex) when (ex is CryptographicException or JsonException or FormatException)
        {
            return null;
        }
    }

    private static bool FixedTimeEquals(string a, string b)
        => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static IDataProtector Protector(IDataProtectionProvider dataProtection) => dataProtection.CreateProtector(Purpose);

    private static string PendingCookieName(BffSessions sessions) => sessions.CookieName + BffDefaults.OAuth2CookieSuffix;

    /// <summary>
    /// SameSite=Lax, unlike the session cookie: the provider sends the browser back with a cross-site top-level GET,
    /// which a Strict cookie would not accompany. It holds nothing usable without the provider's code.
    /// </summary>
    private static CookieOptions PendingCookieOptions(HttpContext context, BffSessions sessions, TimeSpan maxAge) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps || sessions.CookieName.StartsWith("__Host-", StringComparison.Ordinal),
        SameSite = SameSiteMode.Lax,
        Path = "/",
        MaxAge = maxAge > TimeSpan.Zero ? maxAge : null,
    };

    private static IResult Refuse(string code, string message, int status = StatusCodes.Status400BadRequest)
        => new BffError(code, message).ToResult(status);

    private static partial class Log
    {
        [LoggerMessage(7030, LogLevel.Information, "OAuth2 sign-in refused: {Reason}.")]
        public static partial void OAuth2Refused(ILogger logger, string reason);
    }
}
