using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Relay.SharedStreams;

/// <summary>
/// Reads collection rules as a PocketBase superuser: signs in (a <c>_superusers</c> record on 0.23+, an admin on 0.22:
/// tried in that order, the one that answers is remembered) and lists <c>GET /api/collections</c>, nothing else. The
/// superuser token stays in this object: sent only with that list request, never logged, never handed out, and never
/// used to open a realtime stream: PocketBase skips every rule for a superuser and shows hidden fields, so such a stream
/// would carry every record to whoever Relay routed it to. Not thread-safe: <see cref="CollectionRules"/> calls it
/// under its gate.
/// </summary>
internal sealed class PocketBaseSchemaClient(IHttpClientFactory httpClientFactory, IOptions<SuperuserCredentialsOptions> credentials)
{
    /// <summary>The HTTP client used for this alone (header values redacted from its logs).</summary>
    public const string HttpClientName = "Relay.PocketBase.Schema";

    private const int PageSize = 200;
    private const int MaxPages = 100;

    private static readonly string[] SignInPaths = ["api/collections/_superusers/auth-with-password", "api/admins/auth-with-password"];

    private string? _token;
    private string? _signInPath;

    /// <summary>Every collection's id, name, type and read rules; the same fields on 0.22 (<c>schema</c>) and 0.23+ (<c>fields</c>).</summary>
    public async Task<IReadOnlyList<CollectionRule>> ReadCollectionsAsync(CancellationToken cancellationToken)
    {
        var http = httpClientFactory.CreateClient(HttpClientName);
        var collections = new List<CollectionRule>();
        for (var page = 1; page <= MaxPages; page++)
        {
            _token ??= await SignInAsync(http, cancellationToken);
            var (status, root) = await ListAsync(http, page, cancellationToken);
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // The superuser token expired or was revoked (password changed): sign in once more, then give up.
                _token = await SignInAsync(http, cancellationToken);
                (status, root) = await ListAsync(http, page, cancellationToken);
            }

            if (status != HttpStatusCode.OK)
            {
                throw new RulesReadException($"PocketBase answered the collection list with {(int)status}.", status);
            }

            if (!root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                throw new RulesReadException("PocketBase's collection list has no items.");
            }

            foreach (var item in items.EnumerateArray())
            {
                if (Read(item) is { } collection)
                {
                    collections.Add(collection);
                }
            }

            var totalPages = root.TryGetProperty("totalPages", out var total) && total.TryGetInt32(out var pages) ? pages : 1;
            if (page >= totalPages || items.GetArrayLength() == 0)
            {
                return collections;
            }
        }

        throw new RulesReadException($"PocketBase lists more than {MaxPages * PageSize} collections; not read.");
    }

    /// <summary>One collection, or null when a field is missing (that collection stays unknown, so per user).</summary>
    private static CollectionRule? Read(JsonElement item)
    {
        if (item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            && item.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            && TryRule(item, "listRule", out var listRule) && TryRule(item, "viewRule", out var viewRule))
        {
            return new CollectionRule(id.GetString()!, name.GetString()!, type.ValueEquals("auth"), listRule, viewRule);
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

    private async Task<(HttpStatusCode Status, JsonElement Root)> ListAsync(HttpClient http, int page, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/collections?page={page}&perPage={PageSize}");
        request.Headers.TryAddWithoutValidation("Authorization", _token);
        return await SendAsync(http, request, cancellationToken);
    }

    private async Task<string> SignInAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var settings = credentials.Value;
        string[] paths = _signInPath is null ? SignInPaths : [_signInPath];
        foreach (var path in paths)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = JsonContent.Create(new Dictionary<string, string?> { ["identity"] = settings.SuperuserEmail, ["password"] = settings.SuperuserPassword }),
            };
            var (status, root) = await SendAsync(http, request, cancellationToken);
            if (status == HttpStatusCode.NotFound && _signInPath is null)
            {
                continue; // 0.22 has no _superusers collection; 0.23+ no /api/admins.
            }

            if (status != HttpStatusCode.OK)
            {
                throw new RulesReadException($"PocketBase refused the superuser sign-in ({(int)status}).", status);
            }

            if (!root.TryGetProperty("token", out var token) || token.ValueKind != JsonValueKind.String || token.GetString() is not { Length: > 0 } value)
            {
                throw new RulesReadException("PocketBase's superuser sign-in answer has no token.");
            }

            _signInPath = path;
            return value;
        }

        throw new RulesReadException("PocketBase has neither a _superusers collection nor /api/admins.", HttpStatusCode.NotFound);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Root)> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                // The body is not read: a refusal's message is not needed, and nothing PocketBase echoes ends up in a log.
                return (response.StatusCode, default);
            }

            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            return (response.StatusCode, document.RootElement.Clone());
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RulesReadException("PocketBase could not be reached, or its answer could not be read.", innerException: ex);
        }
    }
}
