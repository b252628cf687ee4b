using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>PocketBase's file tokens (<c>POST /api/files/token</c>) for a user's token; caching them is the BFF's.</summary>
internal sealed class PocketBaseFileTokenClient(IHttpClientFactory httpClientFactory)
{
    /// <summary>
    /// The file token PocketBase gives for <paramref name="token"/>, or null with the status when it refused. An answer
    /// without a token is null with a success status; a transport failure or unreadable answer is thrown as it came.
    /// </summary>
    public async Task<(string? Token, int StatusCode)> GetAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/files/token");
        request.Headers.TryAddWithoutValidation("Authorization", token);
        using var response = await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return (null, (int)response.StatusCode);
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
        var value = document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("token", out var fileToken) && fileToken.GetString() is { Length: > 0 } read
            ? read
            : null;
        return (value, (int)response.StatusCode);
    }
}
