using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>
/// What PocketBase's answers to the BFF's calls (<see cref="PocketBaseAuthClient"/>: password and OAuth2 sign-in, auth
/// methods, refresh) mean for a BFF sign-in or session.
/// </summary>
internal sealed partial class BffPocketBase(PocketBaseAuthClient pocketBase, ILogger<BffPocketBase> logger)
{
    /// <summary>PocketBase's own message for a wrong identity or password.</summary>
    public const string FailedToAuthenticate = "Failed to authenticate.";

    public async Task<BffAuthResult> AuthWithPasswordAsync(string collection, string identity, string password, CancellationToken cancellationToken)
        => Read(await pocketBase.AuthWithPasswordAsync(collection, identity, password, cancellationToken));

    public async Task<BffAuthResult> AuthWithOAuth2Async(string collection, string provider, string code, string codeVerifier, string redirectUrl, CancellationToken cancellationToken)
        => Read(await pocketBase.AuthWithOAuth2Async(collection, provider, code, codeVerifier, redirectUrl, cancellationToken));

    /// <summary>Exchanges <paramref name="token"/> for a fresh one and the current record; a refusal means the session was revoked.</summary>
    public async Task<BffAuthResult> RefreshAsync(string collectionId, string token, CancellationToken cancellationToken)
        => Read(await pocketBase.RefreshAsync(collectionId, token, cancellationToken));

    /// <inheritdoc cref="PocketBaseAuthClient.GetOAuth2ProviderAsync"/>
    public Task<OAuth2Provider?> GetOAuth2ProviderAsync(string collection, string provider, CancellationToken cancellationToken)
        => pocketBase.GetOAuth2ProviderAsync(collection, provider, cancellationToken);

    private BffAuthResult Read(PocketBaseAuthReply reply)
    {
        var status = reply.StatusCode;
        switch (reply.Outcome)
        {
            case PocketBaseAuthOutcome.Unreachable:
                throw new UpstreamException("PocketBase could not be reached.", innerException: reply.Error);

            // Only 400, 401, 403 and 404 are PocketBase refusing the credentials or token (as the hub's TokenVerifier
            // reads auth-refresh). Anything else - 429 from a rate limiter in front of every user sharing Relay's
            // address, 408, 5xx - says nothing about the user and must not end sessions or fail sign-ins as if the
            // password were wrong.
            case PocketBaseAuthOutcome.Failed:
                throw new UpstreamException($"PocketBase answered {reply.Endpoint} with {status}.", (HttpStatusCode)status);
            case PocketBaseAuthOutcome.Unreadable when reply.Error is JsonException:
                throw new UpstreamException($"PocketBase answered {reply.Endpoint} with {status} and no JSON.", (HttpStatusCode)status, reply.Error);
            case PocketBaseAuthOutcome.Unreadable:
                ExceptionDispatchInfo.Throw(reply.Error!);
                return null!;
            case PocketBaseAuthOutcome.Refused:
                return BffAuthResult.Refused(status, reply.Message);
            case PocketBaseAuthOutcome.Superuser:
                // Answered exactly like a wrong password, so Relay tells no one that a superuser's password was right.
                Log.SuperuserRefused(logger, reply.Answer!.CollectionId, reply.Answer.RecordId);
                return BffAuthResult.Refused(StatusCodes.Status400BadRequest, FailedToAuthenticate) with { SuperuserRefused = true };
            default:
                return new BffAuthResult(status, reply.Answer, null);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7050, LogLevel.Warning, "Refused a superuser's sign-in or refresh (collection {CollectionId}, record {RecordId}): superusers cannot use Relay's BFF.")]
        public static partial void SuperuserRefused(ILogger logger, string collectionId, string recordId);
    }
}
