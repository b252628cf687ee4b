using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Relay.Tests.Auth;

/// <summary>
/// Plays <c>POST /api/collections/{collection}/auth-refresh</c> as current PocketBase (0.23+) answers it: a known token
/// gets 200 with a fresh token (claims <c>type: auth</c>) and its record, including the collection name; superusers are
/// records of <c>_superusers</c> whose id is generated per installation. Unknown tokens get 401. Counts the calls, and
/// can hold them in flight until <see cref="Release"/> to observe the concurrency Relay allows.
/// </summary>
internal sealed class FakePocketBaseAuth : HttpMessageHandler, IHttpClientFactory
{
    public const string UsersId = "_pb_users_auth_";
    public const string SuperusersId = "pbc_3142635823";

    private readonly ConcurrentDictionary<string, (string CollectionId, string CollectionName, string RecordId, HttpStatusCode Status)> _tokens = new();
    private TaskCompletionSource _gate = CompletedGate();
    private int _calls;
    private int _inFlight;
    private int _maxInFlight;

    public int Calls => Volatile.Read(ref _calls);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Makes a well-formed 0.23+ token (type <c>auth</c>) for a record and, unless <paramref name="known"/> is false, lets PocketBase accept it.</summary>
    public string Issue(string collectionId, string collectionName, string recordId, bool known = true, HttpStatusCode status = HttpStatusCode.OK)
    {
        var token = Token(collectionId, recordId, DateTimeOffset.UtcNow.AddHours(1), Guid.NewGuid().ToString("N"));
        if (known)
        {
            _tokens[token] = (collectionId, collectionName, recordId, status);
        }

        return token;
    }

    /// <summary>The token is revoked from now on (password changed, user deleted): 401.</summary>
    public void Revoke(string token) => _tokens.TryRemove(token, out _);

    /// <summary>Holds every call from now on until <see cref="Release"/>.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://pocketbase.test/") };

    public static string Token(string collectionId, string recordId, DateTimeOffset expiresAt, string signature, string type = "auth")
    {
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = JsonSerializer.Serialize(new { collectionId, exp = expiresAt.ToUnixTimeSeconds(), id = recordId, refreshable = true, type });
        return $"{header}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(signature))}";
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (request.Method != HttpMethod.Post || !path.StartsWith("/api/collections/", StringComparison.Ordinal) || !path.EndsWith("/auth-refresh", StringComparison.Ordinal))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        Interlocked.Increment(ref _calls);
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, inFlight);
        try
        {
            await _gate.Task.WaitAsync(cancellationToken);
            var token = request.Headers.Authorization?.ToString() ?? (request.Headers.TryGetValues("Authorization", out var values) ? values.First() : string.Empty);
            if (!_tokens.TryGetValue(token, out var record))
            {
                return new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("""{"code":401,"message":"The request requires valid record authorization token.","data":{}}""") };
            }

            if (record.Status != HttpStatusCode.OK)
            {
                return new HttpResponseMessage(record.Status) { Content = new StringContent("{}") };
            }

            var fresh = Issue(record.CollectionId, record.CollectionName, record.RecordId);
            var body = JsonSerializer.Serialize(new
            {
                token = fresh,
                record = new { id = record.RecordId, collectionId = record.CollectionId, collectionName = record.CollectionName, email = "someone@relay.test" },
            });
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
