using System.Text.Json;
using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary><c>POST /bff/login</c>, <c>GET /bff/user</c>, <c>POST /bff/logout</c>. No response ever carries the token.</summary>
internal static partial class BffEndpoints
{
    public static async Task<IResult> LoginAsync(
        HttpContext context,
        BffLoginLimiter limiter,
        BffPocketBase pocketBase,
        BffSessions sessions,
        IOptions<BffOptions> options,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(BffEndpoints));
        if (!limiter.TryAcquire(context))
        {
            Log.LoginRateLimited(logger);
            context.Response.Headers.RetryAfter = "60";
            return new BffError(BffErrorCodes.TooManyAttempts, "too many sign-in attempts from this address; try again later").ToResult(StatusCodes.Status429TooManyRequests);
        }

        var (request, refusal) = await ReadLoginAsync(context, options.Value.MaxLoginBodyBytes);
        if (refusal is not null)
        {
            return refusal;
        }

        var collection = request!.Collection ?? options.Value.DefaultCollection;
        BffAuthResult result;
        if (PocketBaseAuthAnswer.IsSuperusersCollection(collection))
        {
            // Not even asked: PocketBase's answer would tell a password guesser whether a superuser's password is right.
            result = BffAuthResult.Refused(StatusCodes.Status400BadRequest, BffPocketBase.FailedToAuthenticate) with { SuperuserRefused = true };
        }
        else
        {
            try
            {
                result = await pocketBase.AuthWithPasswordAsync(collection, request.Identity!, request.Password!, context.RequestAborted);
            }
            catch (UpstreamException)
            {
                return Unavailable();
            }
        }

        if (!result.Succeeded)
        {
            Log.LoginRefused(logger, collection, result.StatusCode);
            // PocketBase answers a wrong password and an unknown user alike (400 "Failed to authenticate."); its status
            // and message are passed on, anything else it might say about the collection is not.
            var status = result.StatusCode is StatusCodes.Status400BadRequest or StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden
                ? result.StatusCode
                : StatusCodes.Status400BadRequest;
            return new BffError(BffErrorCodes.LoginFailed, result.Message ?? "PocketBase refused the sign-in").ToResult(status);
        }

        BffSession session;
        try
        {
            // A new session id on every sign-in (no fixation); the browser's previous session, if any, ends.
            if (await sessions.ReadSessionIdAsync(context) is { } previous)
            {
                await sessions.EndAsync(previous, context: null, BffSessionEndReasons.SignedInAgain);
            }

            session = await sessions.SignInAsync(context, result, "password");
        }
        catch (UpstreamException)
        {
            return Unavailable();
        }

        context.Response.Headers.CacheControl = "no-store";
        return Results.Text(session.RecordJson, "application/json");
    }

    public static async Task<IResult> UserAsync(HttpContext context, BffSessions sessions)
    {
        BffResolution resolution;
        try
        {
            resolution = await sessions.ResolveAsync(context);
        }
        catch (UpstreamException)
        {
            return Unavailable();
        }

        if (resolution.Session is { } session)
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text(session.RecordJson, "application/json");
        }

        if (resolution.Refused)
        {
            await BffSessions.ForgetCookieAsync(context);
            return new BffError(BffErrorCodes.SessionEnded, "the session has ended; sign in again").ToResult(StatusCodes.Status401Unauthorized);
        }

        return new BffError(BffErrorCodes.NotSignedIn, "not signed in").ToResult(StatusCodes.Status401Unauthorized);
    }

    public static async Task<IResult> LogoutAsync(HttpContext context, BffSessions sessions)
    {
        if (await sessions.ReadSessionIdAsync(context) is { } id)
        {
            try
            {
                await sessions.EndAsync(id, context, BffSessionEndReasons.SignedOut);
            }
            catch (UpstreamException)
            {
                // The session could not be forgotten server-side: say so rather than pretend the sign-out happened.
                return Unavailable();
            }
        }
        else
        {
            await BffSessions.ForgetCookieAsync(context);
        }

        return Results.NoContent();
    }

    internal static IResult Unavailable()
        => new BffError(BffErrorCodes.UpstreamUnavailable, "PocketBase could not be reached; try again").ToResult(StatusCodes.Status503ServiceUnavailable);

    private static async Task<(LoginRequest? Request, IResult? Refusal)> ReadLoginAsync(HttpContext context, int maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (!context.Request.HasJsonContentType())
        {
            return (null, Invalid("the body must be JSON (Content-Type: application/json)", StatusCodes.Status415UnsupportedMediaType));
        }

        // Read at most one byte past the limit: a body without Content-Length (chunked) cannot make Relay buffer more.
        var buffer = new byte[maxBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted)) > 0)
        {
            length += read;
        }

        if (length > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        LoginRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(buffer.AsSpan(0, length), BffJsonContext.Default.LoginRequest);
        }
        catch (JsonException)
        {
            return (null, Invalid("the body is not a JSON object { identity, password, collection? }"));
        }

        if (request is null || string.IsNullOrWhiteSpace(request.Identity) || request.Identity.Length > BffValidation.MaxIdentityLength)
        {
            return (null, Invalid($"identity is required (1-{BffValidation.MaxIdentityLength} characters)"));
        }

        if (string.IsNullOrEmpty(request.Password) || request.Password.Length > BffValidation.MaxPasswordLength)
        {
            return (null, Invalid($"password is required (1-{BffValidation.MaxPasswordLength} characters)"));
        }

        if (request.Collection is not null && !BffValidation.IsCollection(request.Collection))
        {
            return (null, Invalid("collection must be a collection name (letters, digits, underscores)"));
        }

        return (request, null);
    }

    private static IResult Invalid(string message, int status = StatusCodes.Status400BadRequest)
        => new BffError(BffErrorCodes.InvalidRequest, message).ToResult(status);

    private static IResult TooLarge(int maxBytes)
        => new BffError(BffErrorCodes.PayloadTooLarge, $"the body is larger than {maxBytes} bytes (Relay:Bff:MaxLoginBodyBytes)").ToResult(StatusCodes.Status413PayloadTooLarge);

    private static partial class Log
    {
        [LoggerMessage(7020, LogLevel.Information, "Sign-in to {Collection} refused by PocketBase ({Status}).")]
        public static partial void LoginRefused(ILogger logger, string collection, int status);

        [LoggerMessage(7021, LogLevel.Warning, "Sign-in attempts rate-limited for a client address.")]
        public static partial void LoginRateLimited(ILogger logger);
    }
}
