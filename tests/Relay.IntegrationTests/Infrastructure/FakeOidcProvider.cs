using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// An OpenID Connect provider on loopback for PocketBase's generic <c>oidc</c> provider to talk to: it issues an access
/// token for any code at <c>/token</c> (recording what PocketBase sent, PKCE verifier included) and describes one user at
/// <c>/userinfo</c>. No browser visits <c>/authorize</c>: tests play the provider's redirect themselves.
/// </summary>
public sealed class FakeOidcProvider : IAsyncDisposable
{
    public const string Email = "oidc-user@relay.test";

    private readonly WebApplication _app;

    private FakeOidcProvider(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>The form of every token request PocketBase made.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> TokenRequests { get; } = new();

    public static async Task<FakeOidcProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeOidcProvider? provider = null;
        app.MapPost("/token", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            provider!.TokenRequests.Enqueue(form.ToDictionary(pair => pair.Key, pair => pair.Value.ToString()));
            return Results.Json(new { access_token = "fake-access-token", token_type = "Bearer", expires_in = 3600 });
        });
        app.MapGet("/userinfo", (HttpContext context) => context.Request.Headers.Authorization.ToString() == "Bearer fake-access-token"
            ? Results.Json(new { sub = "oidc-user-1", name = "OIDC User", email = Email, email_verified = true })
            : Results.Unauthorized());
        await app.StartAsync().WaitAsync(TestTimeouts.Default);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        provider = new FakeOidcProvider(app, new Uri(address.TrimEnd('/') + "/"));
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TestTimeouts.Default);
        await _app.DisposeAsync();
    }
}
