using Relay.PocketBase;
using System.Net;
using System.Text.Json;

namespace Relay.Auth;

/// <summary>The <c>auth-refresh</c> call itself and the reading of PocketBase's answer.</summary>
internal sealed partial class TokenVerifier
{
    private async Task<TokenVerdict> CallPocketBaseAsync(string token, string collectionId)
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
            _metrics.TokenVerification("unavailable");
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
                _metrics.TokenVerification("unavailable");
                throw new UpstreamException($"PocketBase answered auth-refresh with {(int)response.StatusCode}.", response.StatusCode);
            }

            try
            {
                using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
                return ReadVerdict(document.RootElement);
            }
            catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or HttpRequestException)
            {
                _metrics.TokenVerification("unavailable");
                throw new UpstreamException("PocketBase's auth-refresh answer could not be read.", innerException: ex);
            }
        }
    }

    private TokenVerdict ReadVerdict(JsonElement root)
    {
        if (!PocketBaseAuthAnswer.TryAccept(root, "auth-refresh", out var answer, out var superuser))
        {
            Log.SuperuserRefused(_logger, superuser!.CollectionId, superuser.RecordId);
            return TokenVerdict.Invalid(PocketBaseAuthAnswer.SuperuserRefusal);
        }

        return TokenVerdict.Valid(new VerifiedToken(answer.CollectionId, answer.CollectionName, answer.RecordId, answer.Token, answer.ExpiresAt));
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
