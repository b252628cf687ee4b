using System.Text.Json;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>The PocketBase calls behind the BFF endpoints: password and OAuth2 sign-in, auth methods, refresh.</summary>
internal sealed partial class BffPocketBase(IHttpClientFactory httpClientFactory, ILogger<BffPocketBase> logger)
{
    /// <summary>PocketBase's own message for a wrong identity or password.</summary>
    public const string FailedToAuthenticate = "Failed to authenticate.";

    public Task<BffAuthResult> AuthWithPasswordAsync(string collection, string identity, string password, CancellationToken cancellationToken)
        => SendAuthAsync(
            HttpMethod.Post,
            $"api/collections/{Uri.EscapeDataString(collection)}/auth-with-password",
            JsonContent.Create(new Dictionary<string, string> { ["identity"] = identity, ["password"] = password }),
            token: null,
            cancellationToken);

    public Task<BffAuthResult> AuthWithOAuth2Async(string collection, string provider, string code, string codeVerifier, string redirectUrl, CancellationToken cancellationToken)
        => SendAuthAsync(
            HttpMethod.Post,
            $"api/collections/{Uri.EscapeDataString(collection)}/auth-with-oauth2",
            JsonContent.Create(new Dictionary<string, string>
            {
                ["provider"] = provider,
                ["code"] = code,
                ["codeVerifier"] = codeVerifier,
                ["redirectUrl"] = redirectUrl,
            }),
            token: null,
            cancellationToken);

    /// <summary>Exchanges <paramref name="token"/> for a fresh one and the current record; a refusal means the session was revoked.</summary>
    public Task<BffAuthResult> RefreshAsync(string collectionId, string token, CancellationToken cancellationToken)
        => SendAuthAsync(HttpMethod.Post, $"api/collections/{Uri.EscapeDataString(collectionId)}/auth-refresh", content: null, token, cancellationToken);

    /// <summary>The OAuth2 providers of <paramref name="collection"/> (0.22: <c>authProviders</c> with name, state, codeVerifier, authUrl).</summary>
    /// <returns>The provider's entry, or null when the collection or provider is unknown.</returns>
    public async Task<OAuth2Provider?> GetOAuth2ProviderAsync(string collection, string provider, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/collections/{Uri.EscapeDataString(collection)}/auth-methods", content: null, token: null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return (int)response.StatusCode is >= 400 and < 500 ? null : throw new UpstreamException($"PocketBase answered auth-methods with {(int)response.StatusCode}.", response.StatusCode);
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        if (!document.RootElement.TryGetProperty("authProviders", out var providers) || providers.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var entry in providers.EnumerateArray())
        {
            if (entry.TryGetProperty("name", out var name) && name.GetString() == provider
                && entry.TryGetProperty("state", out var state) && state.GetString() is { Length: > 0 } stateValue
                && entry.TryGetProperty("codeVerifier", out var verifier) && verifier.GetString() is { Length: > 0 } verifierValue
                && entry.TryGetProperty("authUrl", out var authUrl) && authUrl.GetString() is { Length: > 0 } authUrlValue)
            {
                return new OAuth2Provider(provider, stateValue, verifierValue, authUrlValue);
            }
        }

        return null;
    }

    private async Task<BffAuthResult> SendAuthAsync(HttpMethod method, string path, HttpContent? content, string? token, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(method, path, content, token, cancellationToken);
        var status = (int)response.StatusCode;
        // Only these are PocketBase refusing the credentials or token (as the hub's TokenVerifier reads auth-refresh).
        // Anything else - 429 from a rate limiter in front of every user sharing Relay's address, 408, 5xx - says
        // nothing about the user and must not end sessions or fail sign-ins as if the password were wrong.
        if (!response.IsSuccessStatusCode && status is not (400 or 401 or 403 or 404))
        {
            throw new UpstreamException($"PocketBase answered {path} with {status}.", response.StatusCode);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new UpstreamException($"PocketBase answered {path} with {status} and no JSON.", response.StatusCode, ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!response.IsSuccessStatusCode)
            {
                // PocketBase's own message ("Failed to authenticate.") is safe to pass on; its data is not echoed.
                var message = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var m) ? m.GetString() : null;
                return BffAuthResult.Refused(status, message);
            }

            if (!PocketBaseAuthAnswer.TryAccept(root, path, out var answer, out var superuser))
            {
                // Answered exactly like a wrong password, so Relay tells no one that a superuser's password was right.
                Log.SuperuserRefused(logger, superuser!.CollectionId, superuser.RecordId);
                return BffAuthResult.Refused(StatusCodes.Status400BadRequest, FailedToAuthenticate) with { SuperuserRefused = true };
            }

            return new BffAuthResult(status, answer, null);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        try
        {
            return await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new UpstreamException("PocketBase could not be reached.", innerException: ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7050, LogLevel.Warning, "Refused a superuser's sign-in or refresh (collection {CollectionId}, record {RecordId}): superusers cannot use Relay's BFF.")]
        public static partial void SuperuserRefused(ILogger logger, string collectionId, string recordId);
    }
}
