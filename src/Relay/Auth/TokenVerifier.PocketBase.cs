using Relay.PocketBase;
using System.Net;

namespace Relay.Auth;

/// <summary>What PocketBase's answer to <c>auth-refresh</c> (<see cref="PocketBaseAuthClient.VerifyAsync"/>) means for the hub.</summary>
internal sealed partial class TokenVerifier
{
    private async Task<TokenVerdict> CallPocketBaseAsync(string token, string collectionId)
    {
        var reply = await _pocketBase.VerifyAsync(collectionId, token);
        switch (reply.Outcome)
        {
            case PocketBaseAuthOutcome.Unreachable:
                _metrics.TokenVerification("unavailable");
                Log.VerificationUnavailable(_logger, reply.Error!);
                throw new UpstreamException("PocketBase could not be reached to verify a token.", innerException: reply.Error);
            case PocketBaseAuthOutcome.Refused:
                return TokenVerdict.Invalid($"refused by PocketBase ({reply.StatusCode})");
            case PocketBaseAuthOutcome.Failed:
                _metrics.TokenVerification("unavailable");
                throw new UpstreamException($"PocketBase answered auth-refresh with {reply.StatusCode}.", (HttpStatusCode)reply.StatusCode);
            case PocketBaseAuthOutcome.Unreadable:
                _metrics.TokenVerification("unavailable");
                throw new UpstreamException("PocketBase's auth-refresh answer could not be read.", innerException: reply.Error);
            case PocketBaseAuthOutcome.Superuser:
                Log.SuperuserRefused(_logger, reply.Answer!.CollectionId, reply.Answer.RecordId);
                return TokenVerdict.Invalid(PocketBaseAuthAnswer.SuperuserRefusal);
            default:
                var answer = reply.Answer!;
                return TokenVerdict.Valid(new VerifiedToken(answer.CollectionId, answer.CollectionName, answer.RecordId, answer.Token, answer.ExpiresAt, answer.Record));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "PocketBase could not be reached to verify a token.")]
        public static partial void VerificationUnavailable(ILogger logger, Exception exception);

        [LoggerMessage(4002, LogLevel.Debug, "A token was not verified: {Limit} verifications are already in flight to PocketBase (Relay:Auth:MaxConcurrentVerifications).")]
        public static partial void VerificationBusy(ILogger logger, int limit);

        [LoggerMessage(4003, LogLevel.Information, "Refused a superuser token (collection {CollectionId}, record {RecordId}): superusers cannot connect through Relay.")]
        public static partial void SuperuserRefused(ILogger logger, string collectionId, string recordId);
    }
}
