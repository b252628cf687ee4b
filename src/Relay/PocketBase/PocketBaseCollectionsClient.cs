using System.Net;
using System.Text.Json;

namespace Relay.PocketBase;

/// <summary>
/// PocketBase's superuser sign-in and collection list (<c>GET /api/collections</c>), for reading collection rules, and
/// the two other reads shared streams make with that token: whether Relay's hook is installed, and which members' auth
/// records still exist. The superuser token is the caller's: this client keeps nothing, sends it only with those requests, on its own
/// HTTP client (<see cref="PocketBaseHttp.SchemaClient"/>, every header value redacted from logs), and the realtime
/// client never sees it. A transport failure or unreadable answer is thrown as it came; which sign-in to use, when to
/// sign in again and what a failure means are the caller's.
/// </summary>
internal sealed class PocketBaseCollectionsClient(IHttpClientFactory httpClientFactory)
{
    /// <summary>Collections asked for per page.</summary>
    public const int PageSize = 200;

    /// <summary>The superuser sign-ins: a <c>_superusers</c> record on 0.23+, an admin on 0.22 (each answers 404 on the other).</summary>
    public static readonly IReadOnlyList<string> SuperuserSignInPaths = ["api/collections/_superusers/auth-with-password", "api/admins/auth-with-password"];

    /// <summary>Signs in at <paramref name="path"/> (one of <see cref="SuperuserSignInPaths"/>).</summary>
    /// <returns>PocketBase's status, and the token of a 200 answer (null when it had none).</returns>
    public async Task<(HttpStatusCode Status, string? Token)> SignInAsync(string path, string? identity, string? password, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(new Dictionary<string, string?> { ["identity"] = identity, ["password"] = password }),
        };
        var (status, root) = await SendAsync(request, cancellationToken);
        if (status != HttpStatusCode.OK)
        {
            return (status, null);
        }

        return root.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String && token.GetString() is { Length: > 0 } value
            ? (status, value)
            : (status, null);
    }

    /// <summary>Page <paramref name="page"/> of the collection list, asked for with <paramref name="superuserToken"/>.</summary>
    public async Task<PocketBaseCollectionsPage> ListAsync(string? superuserToken, int page, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/collections?page={page}&perPage={PageSize}");
        request.Headers.TryAddWithoutValidation("Authorization", superuserToken);
        var (status, root) = await SendAsync(request, cancellationToken);
        if (status != HttpStatusCode.OK)
        {
            return new PocketBaseCollectionsPage(status, null, 0, 0);
        }

        if (!root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return new PocketBaseCollectionsPage(status, null, 0, 0);
        }

        var collections = new List<PocketBaseCollection>();
        foreach (var item in items.EnumerateArray())
        {
            if (Read(item) is { } collection)
            {
                collections.Add(collection);
            }
        }

        var totalPages = root.TryGetProperty("totalPages", out var total) && total.TryGetInt32(out var pages) ? pages : 1;
        return new PocketBaseCollectionsPage(status, collections, items.GetArrayLength(), totalPages);
    }

    /// <summary>
    /// Which of <paramref name="recordIds"/> (PocketBase ids: letters, digits, <c>_</c>) still exist in
    /// <paramref name="collectionId"/>, with their <c>updated</c> (null for a collection without that field), in one list
    /// request (<c>GET /api/collections/{id}/records?filter=id="…"||…&amp;fields=id,updated</c>) asked for with
    /// <paramref name="superuserToken"/>. Null records with a status other than 200.
    /// </summary>
    public async Task<(HttpStatusCode Status, IReadOnlyDictionary<string, string?>? Records)> ListUpdatedAsync(string? superuserToken, string collectionId, IReadOnlyList<string> recordIds, CancellationToken cancellationToken)
    {
        var filter = string.Join("||", recordIds.Select(static id => $"id=\"{id}\""));
        using var request = new HttpRequestMessage(
            HttpMethod.Get,
            $"api/collections/{Uri.EscapeDataString(collectionId)}/records?page=1&perPage={recordIds.Count}&skipTotal=1&fields=id,updated&filter={Uri.EscapeDataString(filter)}");
        request.Headers.TryAddWithoutValidation("Authorization", superuserToken);
        var (status, root) = await SendAsync(request, cancellationToken);
        if (status != HttpStatusCode.OK || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return (status, null);
        }

        var records = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var item in items.EnumerateArray())
        {
            if (item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                records[id.GetString()!] = item.TryGetProperty("updated", out var updated) && updated.ValueKind == JsonValueKind.String ? updated.GetString() : null;
            }
        }

        return (status, records);
    }

    /// <summary>
    /// Asks whether Relay's PocketBase hook (<c>deploy/pocketbase/pb_hooks/relay.pb.js</c>) is installed: it answers
    /// <c>GET /api/relay/hooks</c> for superusers; PocketBase without it answers 404.
    /// </summary>
    public async Task<HttpStatusCode> ProbeHookAsync(string? superuserToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/relay/hooks");
        request.Headers.TryAddWithoutValidation("Authorization", superuserToken);
        return (await SendAsync(request, cancellationToken)).Status;
    }

    /// <summary>One collection, or null when a field is missing; the same fields on 0.22 (<c>schema</c>) and 0.23+ (<c>fields</c>).</summary>
    private static PocketBaseCollection? Read(JsonElement item)
    {
        if (item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            && item.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            && TryRule(item, "listRule", out var listRule) && TryRule(item, "viewRule", out var viewRule))
        {
            return new PocketBaseCollection(id.GetString()!, name.GetString()!, type.ValueEquals("auth"), listRule, viewRule);
        }

        return null;
    }

    private static bool TryRule(JsonElement item, string property, out string? rule)
    {
        rule = null;
        if (!item.TryGetProperty(property, out var value))
        {
            return false;
        }

        rule = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return value.ValueKind is JsonValueKind.String or JsonValueKind.Null;
    }

    private async Task<(HttpStatusCode Status, JsonElement Root)> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await httpClientFactory.CreateClient(PocketBaseHttp.SchemaClient).SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            // The body is not read: a refusal's message is not needed, and nothing PocketBase echoes ends up in a log.
            return (response.StatusCode, default);
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        return (response.StatusCode, document.RootElement.Clone());
    }
}
