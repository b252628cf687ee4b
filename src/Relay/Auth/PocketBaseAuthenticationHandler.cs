using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.ClientIp;
using Relay.PocketBase;

namespace Relay.Auth;

/// <summary>
/// Authenticates a request by its PocketBase token (<c>access_token</c> query parameter, which browsers need for
/// WebSockets and SSE, or <c>Authorization: Bearer</c>). No token makes a guest when <see cref="RelayOptions.AllowAnonymous"/>;
/// an invalid one is refused with 401; when PocketBase cannot be asked (or too many verifications are in flight) the
/// answer is 503, not a guess; an address that presented too many refused tokens gets 429. Both carry <c>Retry-After</c>.
/// </summary>
internal sealed class PocketBaseAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    TokenVerifier verifier,
    IOptions<RelayOptions> relayOptions,
    ICredentialSource credentials)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    private static readonly object UnavailableKey = new();
    private static readonly object RateLimitedKey = new();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken();
        if (token is null)
        {
            // BFF mode: a browser's session cookie stands in for the token (verified below like any other).
            var credential = await credentials.ResolveTokenAsync(Context);
            if (credential.Unavailable)
            {
                Context.Items[UnavailableKey] = true;
                return AuthenticateResult.Fail("The session could not be checked.");
            }

            if (credential.Refused)
            {
                return AuthenticateResult.Fail("The session cookie does not stand for a live session.");
            }

            token = credential.Token;
        }

        if (token is null)
        {
            return relayOptions.Value.AllowAnonymous
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(PocketBaseIdentity.Guest()), Scheme.Name))
                : AuthenticateResult.NoResult();
        }

        TokenVerdict verdict;
        try
        {
            verdict = await verifier.VerifyAsync(token, ClientAddress.Of(Context), Context.RequestAborted);
        }
        catch (UpstreamException)
        {
            Context.Items[UnavailableKey] = true;
            return AuthenticateResult.Fail("PocketBase could not be reached to verify the token.");
        }
        catch (VerificationRateLimitedException ex)
        {
            Context.Items[RateLimitedKey] = ex.RetryAfter;
            return AuthenticateResult.Fail("Too many refused tokens from this address.");
        }

        return verdict.Token is { } verified
            ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(PocketBaseIdentity.ForRecord(verified)), Scheme.Name))
            : AuthenticateResult.Fail($"The token was refused: {verdict.Reason}.");
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(UnavailableKey))
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = "5";
            return Task.CompletedTask;
        }

        if (Context.Items.TryGetValue(RateLimitedKey, out var retryAfter) && retryAfter is TimeSpan wait)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return credentials.ChallengeAsync(Context);
    }

    private string? ReadToken()
    {
        var query = Request.Query[RelayProtocol.AccessTokenParameter].ToString();
        if (!string.IsNullOrWhiteSpace(query))
        {
            return query;
        }

        var header = Request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        return header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && header.Length > Bearer.Length
            ? header[Bearer.Length..].Trim()
            : null;
    }
}
