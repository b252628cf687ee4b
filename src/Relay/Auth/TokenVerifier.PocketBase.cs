using System.Net;
using System.Text.Json;
using Relay.Upstream;

namespace Relay.Auth;

/// <summary>The <c>auth-refresh</c> call itself and the reading of PocketBase's answer.</summary>
internal sealed partial class TokenVerifier
{
    /// <summary>
    /// The auth collection of PocketBase 0.23+ superusers. Its id is generated per installation, so only the name
    /// PocketBase returns tells a superuser's token from a user's (0.22 admin tokens carry no collection at all and never
    /// get this far).
    /// </summary>
    internal const string SuperusersCollection = "_superusers";

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
        if (root.ValueKind != JsonValueKind.Object
            || !TryGetString(root, "token", out var freshToken)
            || !root.TryGetProperty("record", out var record) || record.ValueKind != JsonValueKind.Object
            || !TryGetString(record, "id", out var recordId)
            || !TryGetString(record, "collectionId", out var verifiedCollection)
            || !JwtPayload.TryRead(freshToken, out var freshPayload))
        {
            throw new UpstreamException("PocketBase's auth-refresh answer lacked a token or record.");
        }

        var collectionName = TryGetString(record, "collectionName", out var name) ? name : verifiedCollection;
        if (string.Equals(collectionName, SuperusersCollection, StringComparison.Ordinal))
        {
            // A superuser sees every record whatever the rules; such a token must never hold a stream for a client.
            Log.SuperuserRefused(_logger, verifiedCollection, recordId);
            return TokenVerdict.Invalid("superuser tokens are not accepted");
        }

        return TokenVerdict.Valid(new VerifiedToken(verifiedCollection, collectionName, recordId, freshToken, freshPayload.ExpiresAt));
    }

    private static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = element.TryGetProperty(name, out var property) && property.ValueKind == JsonValueKind.String ? property.GetString()! : string.Empty;
        return value.Length > 0;
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
