using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Testing.PocketBase;

/// <summary>
/// PocketBase's REST API as a superuser, in the shapes of the version it talks to (<see cref="Version"/>): schema,
/// users, records, settings. Tests say what they need once; the version's spelling is this class's business.
/// </summary>
public sealed partial class PocketBaseAdmin : IDisposable
{
    public const string Email = "admin@relay.test";
    public const string Password = "relay-admin-password";

    private readonly HttpClient _http;
    private string _token = string.Empty;

    private PocketBaseAdmin(Uri url, PocketBaseVersion version)
    {
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        Version = version;
    }

    public Uri Url => _http.BaseAddress!;

    public PocketBaseVersion Version { get; }

    /// <summary>The superuser's token (a 0.22 admin token, or a 0.23+ <c>_superusers</c> record token).</summary>
    public string Token => _token;

    /// <summary>Where a superuser signs in: <c>api/admins/auth-with-password</c> on 0.22, the <c>_superusers</c> collection's on 0.23+.</summary>
    public string SuperuserAuthPath => Version.HasSuperuserCollection
        ? "api/collections/_superusers/auth-with-password"
        : "api/admins/auth-with-password";

    /// <summary>Logs in as the superuser <see cref="Email"/>, who must exist (<see cref="PocketBaseServer"/> creates it).</summary>
    public static async Task<PocketBaseAdmin> SignInAsync(Uri url, PocketBaseVersion version, CancellationToken cancellationToken = default)
    {
        var admin = new PocketBaseAdmin(url, version);
        try
        {
            await admin.LoginAsync(cancellationToken);
            return admin;
        }
        catch
        {
            admin.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Logs in as the superuser on a PocketBase of either version (found out from the server: 0.22 has no
    /// <c>_superusers</c> collection). On a fresh 0.22 the first superuser is created over REST (0.22 allows it while
    /// none exists); 0.23+ has no such door, so there it must have been created (<c>superuser upsert</c>, a migration).
    /// </summary>
    public static async Task<PocketBaseAdmin> ConnectAsync(Uri url, CancellationToken cancellationToken = default)
    {
        var modern = new PocketBaseAdmin(url, PocketBaseVersion.V0_40_4);
        try
        {
            await modern.LoginAsync(cancellationToken);
            return modern;
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            modern.Dispose();
            throw new InvalidOperationException($"PocketBase 0.23+ at {url} has no superuser {Email} with the test password: create it with `pocketbase superuser upsert {Email} {Password}` or a migration.", ex);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            modern.Dispose();
        }

        var legacy = new PocketBaseAdmin(url, PocketBaseVersion.V0_22_20);
        try
        {
            await legacy.LoginAsync(cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            await legacy.SendAsync(HttpMethod.Post, "api/admins", new { email = Email, password = Password, passwordConfirm = Password }, token: "", cancellationToken);
            await legacy.LoginAsync(cancellationToken);
        }

        return legacy;
    }

    public async Task LoginAsync(CancellationToken cancellationToken = default)
    {
        var result = await SendAsync(HttpMethod.Post, SuperuserAuthPath, new { identity = Email, password = Password }, token: "", cancellationToken);
        _token = result.GetProperty("token").GetString()!;
    }

    /// <summary>Creates the test schema unless <c>notes</c> already exists.</summary>
    public async Task EnsureTestSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (!await CollectionExistsAsync("notes", cancellationToken))
        {
            await CreateTestSchemaAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The test schema: <c>notes</c> visible to their owner only, <c>announcements</c> to anyone (guests included),
    /// <c>secrets</c> to superusers only.
    /// </summary>
    public async Task CreateTestSchemaAsync(CancellationToken cancellationToken = default)
    {
        await CreateCollectionAsync(
            new CollectionDefinition("notes", FieldDefinition.Text("title"), FieldDefinition.Relation("owner", "users", required: true, cascadeDelete: true))
            {
                CreateRule = "@request.auth.id != \"\" && owner = @request.auth.id",
                UpdateRule = "owner = @request.auth.id",
                DeleteRule = "owner = @request.auth.id",
            }.WithReadRule("owner = @request.auth.id"),
            cancellationToken);
        // Long titles: BatchingTests sends 20 KB records (0.23+ caps a text field at 5,000 characters unless told).
        await CreateCollectionAsync(new CollectionDefinition("announcements", FieldDefinition.Text("title", max: 100_000)).WithReadRule(""), cancellationToken);
        await CreateCollectionAsync(new CollectionDefinition("secrets", FieldDefinition.Text("title")), cancellationToken);
    }

    /// <summary>Creates a collection in the shape this PocketBase version takes.</summary>
    public async Task<JsonElement> CreateCollectionAsync(CollectionDefinition definition, CancellationToken cancellationToken = default)
    {
        var body = await CollectionShape.ToRequestAsync(definition, Version, name => CollectionIdAsync(name, cancellationToken));
        return await SendAsync(HttpMethod.Post, "api/collections", body, token: null, cancellationToken);
    }

    public async Task<string> CollectionIdAsync(string name, CancellationToken cancellationToken = default)
        => (await SendAsync(HttpMethod.Get, $"api/collections/{name}", body: null, token: null, cancellationToken)).GetProperty("id").GetString()!;

    public async Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(HttpMethod.Get, $"api/collections/{name}", body: null, token: null, cancellationToken);
            return true;
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

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
