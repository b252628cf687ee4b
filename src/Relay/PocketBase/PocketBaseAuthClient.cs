using System.Net;
using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>
/// PocketBase's auth API: password and OAuth2 sign-in, <c>auth-refresh</c> and the auth-methods list. It builds and
/// sends the request and reads the answer through <see cref="PocketBaseAuthAnswer"/> (the superuser rule); what a
/// refusal or failure means (an invalid token, a wrong password, a revoked session) is decided by Auth and Bff.
/// </summary>
internal sealed class PocketBaseAuthClient(IHttpClientFactory httpClientFactory)
{
    public Task<PocketBaseAuthReply> AuthWithPasswordAsync(string collection, string identity, string password, CancellationToken cancellationToken)
    {
        var path = $"api/collections/{Uri.EscapeDataString(collection)}/auth-with-password";
        return SendAuthAsync(
            HttpMethod.Post,
            path,
            path,
            JsonContent.Create(new Dictionary<string, string> { ["identity"] = identity, ["password"] = password }),
            token: null,
            readRefusal: true,
            cancellationToken);
    }

    public Task<PocketBaseAuthReply> AuthWithOAuth2Async(string collection, string provider, string code, string codeVerifier, string redirectUrl, CancellationToken cancellationToken)
    {
        var path = $"api/collections/{Uri.EscapeDataString(collection)}/auth-with-oauth2";
        return SendAuthAsync(
            HttpMethod.Post,
            path,
            path,
            JsonContent.Create(new Dictionary<string, string>
            {
                ["provider"] = provider,
                ["code"] = code,
                ["codeVerifier"] = codeVerifier,
                ["redirectUrl"] = redirectUrl,
            }),
            token: null,
            readRefusal: true,
            cancellationToken);
    }

    /// <summary>A BFF session's refresh: a refusal's message is read, and messages name the whole path.</summary>
    public Task<PocketBaseAuthReply> RefreshAsync(string collectionId, string token, CancellationToken cancellationToken)
    {
        var path = $"api/collections/{Uri.EscapeDataString(collectionId)}/auth-refresh";
        return SendAuthAsync(HttpMethod.Post, path, path, content: null, token, readRefusal: true, cancellationToken);
    }

    /// <summary>The hub's verification of a token: a refusal's body is not read, and messages say <c>auth-refresh</c>.</summary>
    public Task<PocketBaseAuthReply> VerifyAsync(string collectionId, string token)
        => SendAuthAsync(HttpMethod.Post, $"api/collections/{Uri.EscapeDataString(collectionId)}/auth-refresh", "auth-refresh", content: null, token, readRefusal: false, CancellationToken.None);

    /// <summary>The OAuth2 providers of <paramref name="collection"/> (0.22: <c>authProviders</c> with name, state, codeVerifier, authUrl).</summary>
    /// <returns>The provider's entry, or null when the collection or provider is unknown.</returns>
    /// <exception cref="UpstreamException">PocketBase could not be reached or answered with a 5xx.</exception>
    public async Task<OAuth2Provider?> GetOAuth2ProviderAsync(string collection, string provider, CancellationToken cancellationToken)
    {
        using var response = await SendOrThrowAsync(HttpMethod.Get, $"api/collections/{Uri.EscapeDataString(collection)}/auth-methods", cancellationToken);
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

    private async Task<PocketBaseAuthReply> SendAuthAsync(HttpMethod method, string path, string endpoint, HttpContent? content, string? token, bool readRefusal, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        HttpResponseMessage response;
        try
        {
            response = await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            return new PocketBaseAuthReply(PocketBaseAuthOutcome.Unreachable, endpoint, 0, Error: ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var refused = response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound;
            if (!response.IsSuccessStatusCode && !refused)
            {
                return new PocketBaseAuthReply(PocketBaseAuthOutcome.Failed, endpoint, status);
            }

            if (refused && !readRefusal)
            {
                return new PocketBaseAuthReply(PocketBaseAuthOutcome.Refused, endpoint, status);
            }

            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is JsonException || (!refused && ex is IOException or InvalidOperationException or HttpRequestException))
            {
                return new PocketBaseAuthReply(PocketBaseAuthOutcome.Unreadable, endpoint, status, Error: ex);
            }

            using (document)
            {
                var root = document.RootElement;
                if (refused)
                {
                    // PocketBase's own message ("Failed to authenticate.") is safe to pass on; its data is not echoed.
                    var message = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var m) ? m.GetString() : null;
                    return new PocketBaseAuthReply(PocketBaseAuthOutcome.Refused, endpoint, status, Message: message);
                }

                return PocketBaseAuthAnswer.TryAccept(root, endpoint, out var answer, out var superuser)
                    ? new PocketBaseAuthReply(PocketBaseAuthOutcome.Accepted, endpoint, status, answer)
                    : new PocketBaseAuthReply(PocketBaseAuthOutcome.Superuser, endpoint, status, superuser);
            }
        }
    }

    private async Task<HttpResponseMessage> SendOrThrowAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        try
        {
            return await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            throw new UpstreamException("PocketBase could not be reached.", innerException: ex);
        }
    }

    /// <summary>A transport failure or PocketBase's timeout, as opposed to the caller giving up.</summary>
    private static bool IsUnreachable(Exception ex, CancellationToken cancellationToken)
        => ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested);
}
