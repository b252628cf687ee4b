using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 2: PocketBase's admin API stays off Relay's origin. On 0.23+ a superuser is a record of
/// <c>_superusers</c>, and <c>/bff/login</c> with that collection used to give a session whose proxy reached
/// <c>/api/collections</c>, <c>/api/settings</c> and the rest. Run on 0.40.4 with <c>RELAY_POCKETBASE_VERSION=0.40.4</c>.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SuperuserBffTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Login_AsSuperuser_RefusedLikeAWrongPassword_PocketBaseNotAskedAndNoSession()
    {
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, "/auth-with-password");
        await using var relay = RelayServer.Start(proxy.Url, BffSettings.Enabled());
        using var attacker = new BffBrowser(relay.Url);

        foreach (var collection in new[] { "_superusers", "_SuperUsers" })
        {
            using var login = await attacker.SendAsync(HttpMethod.Post, "bff/login", JsonContent.Create(new { identity = PocketBaseAdmin.Email, password = PocketBaseAdmin.Password, collection }));
            await AssertLoginFailedAsync(login);
        }

        // Refused before PocketBase is asked: Relay is no oracle for superuser passwords, whatever PocketBase's version.
        Assert.Equal(0, proxy.Count("/auth-with-password"));
        Assert.Null(attacker.SessionCookie);

        // 0.23+: the superusers collection by its id reaches PocketBase, which says yes; Relay refuses its answer.
        if (await SuperusersCollectionIdAsync() is { } id)
        {
            using var byId = await attacker.SendAsync(HttpMethod.Post, "bff/login", JsonContent.Create(new { identity = PocketBaseAdmin.Email, password = PocketBaseAdmin.Password, collection = id }));
            await AssertLoginFailedAsync(byId);
            Assert.Equal(1, proxy.Count("/auth-with-password"));
            Assert.Null(attacker.SessionCookie);
        }

        using var collections = await attacker.SendAsync(HttpMethod.Get, "api/collections", csrf: false);
        Assert.Equal(HttpStatusCode.NotFound, collections.StatusCode);
    }

    [Fact]
    public async Task Proxy_PocketBasesAdminApi_NotProxiedEvenForASignedInUser()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var alice = new BffBrowser(relay.Url);
        await alice.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "api/collections"),
            (HttpMethod.Post, "api/collections"),
            (HttpMethod.Get, "api/collections/notes"),
            (HttpMethod.Delete, "api/collections/notes/truncate"),
            (HttpMethod.Put, "api/collections/import"),
            (HttpMethod.Get, "api/collections/_superusers/records"),
            (HttpMethod.Get, "api/settings"),
            (HttpMethod.Patch, "api/settings"),
            (HttpMethod.Get, "api/logs"),
            (HttpMethod.Get, "api/backups"),
            (HttpMethod.Get, "api/crons"),
            (HttpMethod.Get, "api/admins"),
            (HttpMethod.Post, "api/batch"),
        })
        {
            using var response = await alice.SendAsync(method, path, method == HttpMethod.Get ? null : JsonContent.Create(new { }));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} answered {(int)response.StatusCode}: {body}");
            Assert.Equal(BffErrorCodes.NotProxied, JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
        }

        // What a browser needs still goes through.
        await alice.GetJsonAsync("api/collections/notes/records");
        await alice.GetJsonAsync("api/collections/users/auth-methods");
        await alice.GetJsonAsync("api/health");
    }

    /// <summary>The id of <c>_superusers</c> on 0.23+; null on 0.22, which has no such collection.</summary>
    private async Task<string?> SuperusersCollectionIdAsync()
        => pocketBase.Admin.Version.HasSuperuserCollection ? await pocketBase.Admin.CollectionIdAsync("_superusers") : null;

    private static async Task AssertLoginFailedAsync(HttpResponseMessage login)
    {
        var body = await login.Content.ReadAsStringAsync();
        Assert.True(login.StatusCode == HttpStatusCode.BadRequest, $"login answered {(int)login.StatusCode}: {body}");
        var error = JsonDocument.Parse(body).RootElement;
        Assert.Equal(BffErrorCodes.LoginFailed, error.GetProperty("code").GetString());
        Assert.Equal("Failed to authenticate.", error.GetProperty("message").GetString());
        Assert.False(login.Headers.Contains("Set-Cookie"));
    }
}
