using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Testing.PocketBase;

/// <summary>PocketBase's REST API as a superuser (0.22 shapes): schema, users, records, settings.</summary>
public sealed class PocketBaseAdmin : IDisposable
{
    public const string Email = "admin@relay.test";
    public const string Password = "relay-admin-password";

    private readonly HttpClient _http;
    private string _token = string.Empty;

    private PocketBaseAdmin(Uri url) => _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

    public Uri Url => _http.BaseAddress!;

    /// <summary>Creates the first superuser (0.22 allows it without auth while none exists) and logs in.</summary>
    public static async Task<PocketBaseAdmin> CreateFirstAsync(Uri url, CancellationToken cancellationToken = default)
    {
        var admin = new PocketBaseAdmin(url);
        await admin.SendAsync(HttpMethod.Post, "api/admins", new { email = Email, password = Password, passwordConfirm = Password }, token: "", cancellationToken);
        await admin.LoginAsync(cancellationToken);
        return admin;
    }

    /// <summary>Logs in as the superuser, creating it first on a fresh PocketBase (for the demo, which reuses its data).</summary>
    public static async Task<PocketBaseAdmin> ConnectAsync(Uri url, CancellationToken cancellationToken = default)
    {
        var admin = new PocketBaseAdmin(url);
        try
        {
            await admin.LoginAsync(cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            await admin.SendAsync(HttpMethod.Post, "api/admins", new { email = Email, password = Password, passwordConfirm = Password }, token: "", cancellationToken);
            await admin.LoginAsync(cancellationToken);
        }

        return admin;
    }

    /// <summary>Creates the test schema unless <c>notes</c> already exists.</summary>
    public async Task EnsureTestSchemaAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(HttpMethod.Get, "api/collections/notes", body: null, token: null, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            await CreateTestSchemaAsync(cancellationToken);
        }
    }

    /// <summary>Logs in as the user, creating it first if it does not exist.</summary>
    public async Task<PocketBaseUser> EnsureUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        try
        {
            return await LoginUserAsync(email, password, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            return await CreateUserAsync(email, password, cancellationToken);
        }
    }

    public async Task LoginAsync(CancellationToken cancellationToken = default)
    {
        var result = await SendAsync(HttpMethod.Post, "api/admins/auth-with-password", new { identity = Email, password = Password }, token: "", cancellationToken);
        _token = result.GetProperty("token").GetString()!;
    }

    /// <summary>
    /// The test schema: <c>notes</c> visible to their owner only, <c>announcements</c> to anyone (guests included),
    /// <c>secrets</c> to superusers only.
    /// </summary>
    public async Task CreateTestSchemaAsync(CancellationToken cancellationToken = default)
    {
        var users = await SendAsync(HttpMethod.Get, "api/collections/users", body: null, token: null, cancellationToken);
        var usersId = users.GetProperty("id").GetString()!;
        await CreateCollectionAsync(new
        {
            name = "notes",
            type = "base",
            schema = new object[]
            {
                new { name = "title", type = "text", required = false, options = new { } },
                new { name = "owner", type = "relation", required = true, options = new { collectionId = usersId, maxSelect = 1, cascadeDelete = true } },
            },
            listRule = "owner = @request.auth.id",
            viewRule = "owner = @request.auth.id",
            createRule = "@request.auth.id != \"\" && owner = @request.auth.id",
            updateRule = "owner = @request.auth.id",
            deleteRule = "owner = @request.auth.id",
        }, cancellationToken);
        await CreateCollectionAsync(new
        {
            name = "announcements",
            type = "base",
            schema = new object[] { new { name = "title", type = "text", required = false, options = new { } } },
            listRule = "",
            viewRule = "",
            createRule = (string?)null,
            updateRule = (string?)null,
            deleteRule = (string?)null,
        }, cancellationToken);
        await CreateCollectionAsync(new
        {
            name = "secrets",
            type = "base",
            schema = new object[] { new { name = "title", type = "text", required = false, options = new { } } },
            listRule = (string?)null,
            viewRule = (string?)null,
            createRule = (string?)null,
            updateRule = (string?)null,
            deleteRule = (string?)null,
        }, cancellationToken);
    }

    public Task<JsonElement> CreateCollectionAsync(object definition, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "api/collections", definition, token: null, cancellationToken);

    /// <summary>Creates a user in <c>users</c> and logs in as them.</summary>
    public async Task<PocketBaseUser> CreateUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        await SendAsync(HttpMethod.Post, "api/collections/users/records", new { email, password, passwordConfirm = password }, token: null, cancellationToken);
        return await LoginUserAsync(email, password, cancellationToken);
    }

    public async Task<PocketBaseUser> LoginUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        var auth = await SendAsync(HttpMethod.Post, "api/collections/users/auth-with-password", new { identity = email, password }, token: "", cancellationToken);
        var record = auth.GetProperty("record");
        return new PocketBaseUser(record.GetProperty("id").GetString()!, record.GetProperty("collectionId").GetString()!, email, password, auth.GetProperty("token").GetString()!);
    }

    /// <summary>Creates a record; <paramref name="token"/> null acts as the superuser.</summary>
    public Task<JsonElement> CreateRecordAsync(string collection, object body, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"api/collections/{collection}/records", body, token, cancellationToken);

    public Task<JsonElement> UpdateRecordAsync(string collection, string id, object body, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Patch, $"api/collections/{collection}/records/{id}", body, token, cancellationToken);

    public Task DeleteRecordAsync(string collection, string id, string? token = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Delete, $"api/collections/{collection}/records/{id}", body: null, token, cancellationToken);

    /// <summary>Sets how long new auth record tokens live (0.22: <c>recordAuthToken.duration</c> in the app settings).</summary>
    public Task SetRecordTokenDurationAsync(TimeSpan duration, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Patch, "api/settings", new { recordAuthToken = new { duration = (long)duration.TotalSeconds } }, token: null, cancellationToken);

    /// <summary>Sends a request; <paramref name="token"/> null uses the superuser token, empty sends none.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, string? token, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var auth = token ?? _token;
        if (auth.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Authorization", auth);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"PocketBase {method} /{path} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _http.Dispose();
}
