using System.Net;
using System.Text.Json;

namespace Relay.Tests.SharedStreams;

/// <summary>
/// Plays the calls <c>CollectionRules</c> makes, as PocketBase 0.23+ answers them: a superuser sign-in at
/// <c>_superusers</c>, <c>GET /api/collections</c> with its token (401 without), and the probe for Relay's hook. Counts both; list calls can be held
/// in flight, made to fail, or meet an expired token. The real PocketBase of both versions is in the integration tests.
/// </summary>
internal sealed class FakeSchemaPocketBase : HttpMessageHandler, IHttpClientFactory
{
    private TaskCompletionSource _gate = Completed();
    private int _signIns;
    private int _lists;
    private int _tokenNumber;
    private volatile string _token = string.Empty;

    public volatile string ListRule = "@request.auth.id != ''";

    public volatile bool Fail;

    /// <summary>Relay's PocketBase hook is installed: <c>GET /api/relay/hooks</c> answers 200 (404 otherwise).</summary>
    public volatile bool Hook;

    private int _hookProbes;
    private int _recordLists;

    /// <summary>The auth records that exist, by id, with their <c>updated</c> (for the superuser's read after a gap).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Users { get; } = new();

    public int RecordLists => Volatile.Read(ref _recordLists);

    public int HookProbes => Volatile.Read(ref _hookProbes);

    /// <summary>When set (with <see cref="Time"/>), tokens are JWT-shaped with this lifetime, as PocketBase's are.</summary>
    public TimeSpan? TokenLifetime { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _issued = new();

    public int SignIns => Volatile.Read(ref _signIns);

    public int Lists => Volatile.Read(ref _lists);

    /// <summary>Every request that carried an <c>Authorization</c> header: method, path and whether it was a superuser token.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Authorized { get; } = new();

    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    /// <summary>The superuser token stops working (expired, password changed).</summary>
    public void ExpireToken() => _token = "expired";

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://pocketbase.test/") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (request.Headers.TryGetValues("Authorization", out var sent))
        {
            Authorized.Enqueue($"{request.Method} {path} {(_issued.ContainsKey(sent.Single()) ? "superuser" : "other")}");
        }

        if (request.Method == HttpMethod.Post && path == "/api/collections/_superusers/auth-with-password")
        {
            Interlocked.Increment(ref _signIns);
            var number = Interlocked.Increment(ref _tokenNumber);
            _token = TokenLifetime is { } lifetime ? Jwt(number, Time.GetUtcNow() + lifetime) : "superuser-token-" + number;
            _issued[_token] = true;
            return Json(new { token = _token, record = new { id = "su1", collectionName = "_superusers" } });
        }

        if (request.Method == HttpMethod.Get && path.StartsWith("/api/collections/", StringComparison.Ordinal) && path.EndsWith("/records", StringComparison.Ordinal))
        {
            // The superuser's read of members' records after a gap: ids from the filter, those in Users answered.
            Interlocked.Increment(ref _recordLists);
            var filter = System.Web.HttpUtility.ParseQueryString(request.RequestUri.Query)["filter"] ?? "";
            var items = System.Text.RegularExpressions.Regex.Matches(filter, "id=\"([A-Za-z0-9_]+)\"")
                .Select(static match => match.Groups[1].Value)
                .Where(Users.ContainsKey)
                .Select(id => new { id, updated = Users[id] });
            return Json(new { items });
        }

        if (request.Method == HttpMethod.Get && path == "/api/relay/hooks")
        {
            Interlocked.Increment(ref _hookProbes);
            return Hook ? Json(new { deaths = 1 }) : new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        if (request.Method != HttpMethod.Get || path != "/api/collections")
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        Interlocked.Increment(ref _lists);
        await _gate.Task.WaitAsync(cancellationToken);
        if (Fail)
        {
            return new HttpResponseMessage(HttpStatusCode.InternalServerError);
        }

        if (!request.Headers.TryGetValues("Authorization", out var auth) || auth.Single() != _token)
        {
            return new HttpResponseMessage(HttpStatusCode.Unauthorized);
        }

        return Json(new
        {
            page = 1,
            perPage = 200,
            totalItems = 2,
            totalPages = 1,
            items = new object[]
            {
                new { id = "_pb_users_auth_", name = "users", type = "auth", listRule = "id = @request.auth.id", viewRule = "id = @request.auth.id", fields = Array.Empty<object>() },
                new { id = "pbc_posts", name = "posts", type = "base", listRule = ListRule, viewRule = (string?)null, fields = Array.Empty<object>() },
            },
        });
    }

    private static string Jwt(int number, DateTimeOffset expiresAt)
    {
        static string Part(object value) => System.Buffers.Text.Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
        return $"{Part(new { alg = "HS256", typ = "JWT" })}.{Part(new { id = "su1", collectionId = "pbc_3142635823", type = "auth", exp = expiresAt.ToUnixTimeSeconds(), n = number })}.signature";
    }

    private static HttpResponseMessage Json(object body) => new(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(body)) };

    private static TaskCompletionSource Completed()
    {
        var completed = new TaskCompletionSource();
        completed.SetResult();
        return completed;
    }
}
