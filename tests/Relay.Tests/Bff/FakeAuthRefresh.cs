using System.Buffers.Text;
using System.Net;
using System.Text;

namespace Relay.Tests.Bff;

/// <summary>Plays PocketBase's <c>auth-refresh</c>: answers as <see cref="Respond"/> says and counts the calls.</summary>
internal sealed class FakeAuthRefresh : HttpMessageHandler, IHttpClientFactory
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Builds the answer to one call; by default a fresh token for record <c>rec1</c> valid one hour from <see cref="Now"/>.</summary>
    public Func<HttpRequestMessage, Task<HttpResponseMessage>>? Respond { get; set; }

    public Func<DateTimeOffset> Now { get; set; } = () => DateTimeOffset.UtcNow;

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://pocketbase.test/") };

    public static string Token(string collectionId, DateTimeOffset expiresAt, string salt = "")
    {
        static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        return $"{Part("""{"alg":"HS256","typ":"JWT"}""")}.{Part($$"""{"collectionId":"{{collectionId}}","id":"rec1","exp":{{expiresAt.ToUnixTimeSeconds()}},"type":"authRecord"}""")}.{Part("sig" + salt)}";
    }

    public HttpResponseMessage Fresh(string salt)
    {
        var token = Token("col1", Now() + TimeSpan.FromHours(1), salt);
        return new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent($$$"""{"token":"{{{token}}}","record":{"id":"rec1","collectionId":"col1","collectionName":"users","email":"a@b.test"}}""", Encoding.UTF8, "application/json"),
        };
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        return Respond is { } respond ? respond(request) : Task.FromResult(Fresh(call.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
