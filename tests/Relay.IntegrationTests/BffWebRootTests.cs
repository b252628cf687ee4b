using System.Net;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>Relay:Bff:WebRoot: the web app served from Relay's own origin, beside the session endpoints and the proxy.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BffWebRootTests(PocketBaseFixture pocketBase) : IDisposable
{
    private readonly string _webRoot = Directory.CreateTempSubdirectory("relay-web-root-").FullName;

    [Fact]
    public async Task WebRoot_ServesTheAppBesideSessionEndpointsAndProxy()
    {
        File.WriteAllText(Path.Combine(_webRoot, "index.html"), "<!doctype html><title>app</title>");
        Directory.CreateDirectory(Path.Combine(_webRoot, "assets"));
        File.WriteAllText(Path.Combine(_webRoot, "assets", "app-1a2b.js"), "console.log('app')");
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:WebRoot"] = _webRoot;
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);

        using var index = await browser.SendAsync(HttpMethod.Get, "/", csrf: false);
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<title>app</title>", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(index.Headers.CacheControl?.NoCache, "index.html must be revalidated so a deploy is picked up");
        Assert.Equal("nosniff", Assert.Single(index.Headers.GetValues("X-Content-Type-Options")));

        using var script = await browser.SendAsync(HttpMethod.Get, "assets/app-1a2b.js", csrf: false);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);

        // Paths without a file still reach Relay's endpoints: the session endpoints and the proxy behave as without files.
        using var user = await browser.SendAsync(HttpMethod.Get, "bff/user", csrf: false);
        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        var notes = await browser.GetJsonAsync("api/collections/notes/records?perPage=1");
        Assert.True(notes.GetProperty("totalItems").GetInt32() >= 0);
        using var missing = await browser.SendAsync(HttpMethod.Get, "no-such-file.js", csrf: false);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task NoWebRoot_NoFilesServed()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);

        using var index = await browser.SendAsync(HttpMethod.Get, "/", csrf: false);

        Assert.Equal(HttpStatusCode.NotFound, index.StatusCode);
    }

    public void Dispose() => Directory.Delete(_webRoot, recursive: true);
}
