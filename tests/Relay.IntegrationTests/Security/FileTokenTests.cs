using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 7: <c>POST /api/files/token</c> handed a PocketBase token to the page. It is no longer proxied, and
/// Relay fetches the file token itself when it proxies a protected file, so such files still load through the BFF.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class FileTokenTests(PocketBaseFixture pocketBase)
{
    private static readonly byte[] Content = Encoding.UTF8.GetBytes("alice's protected file " + Guid.NewGuid());

    [Fact]
    public async Task ProtectedFile_OwnerGetsItThroughTheProxy_FileTokenEndpointNotProxied_OthersGetNothing()
    {
        var collection = await CreateDocsCollectionAsync();
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var alice = new BffBrowser(relay.Url);
        using var bob = new BffBrowser(relay.Url);
        using var guest = new BffBrowser(relay.Url);
        await alice.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        await bob.LoginOkAsync(pocketBase.Bob.Email, pocketBase.Bob.Password);

        using var form = new MultipartFormDataContent
        {
            { new StringContent(pocketBase.Alice.Id), "owner" },
            { new ByteArrayContent(Content) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } }, "file", "secret.txt" },
        };
        using var created = await alice.SendAsync(HttpMethod.Post, $"api/collections/{collection}/records", form);
        var record = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        Assert.True(created.StatusCode == HttpStatusCode.OK, $"create answered {(int)created.StatusCode}: {record}");
        var path = $"api/files/{collection}/{record.GetProperty("id").GetString()}/{record.GetProperty("file").GetString()}";

        using (var token = await alice.SendAsync(HttpMethod.Post, "api/files/token"))
        {
            var body = await token.Content.ReadAsStringAsync();
            Assert.True(token.StatusCode == HttpStatusCode.NotFound, $"files/token answered {(int)token.StatusCode}: {body}");
            Assert.Equal(BffErrorCodes.NotProxied, JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
            Assert.DoesNotContain("\"token\"", body, StringComparison.Ordinal);
        }

        using (var file = await alice.SendAsync(HttpMethod.Get, path, csrf: false))
        {
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
            Assert.Equal(Content, await file.Content.ReadAsByteArrayAsync());
        }

        // A token the page puts in the query is replaced by the session's own: bob's does not open alice's file.
        foreach (var (browser, query) in new[] { (bob, ""), (guest, ""), (bob, "?token=whatever") })
        {
            using var denied = await browser.SendAsync(HttpMethod.Get, path + query, csrf: false);
            // PocketBase answers 403 (0.22) or 404 for a protected file the caller may not see.
            Assert.True(denied.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{path}{query} answered {(int)denied.StatusCode}");
            Assert.NotEqual(Content, await denied.Content.ReadAsByteArrayAsync());
        }

        relay.AssertNoErrorLogs();
    }

    /// <summary>A collection with a protected file field whose records only their owner may see, in 0.22's or 0.23+'s shape.</summary>
    private async Task<string> CreateDocsCollectionAsync()
    {
        var name = "docs_" + Guid.NewGuid().ToString("N")[..8];
        var users = await pocketBase.Admin.CollectionIdAsync("users");
        const string Own = "owner = @request.auth.id";
        // The fixture's field definitions have no file type: the two shapes are spelled out here.
        object definition = pocketBase.Admin.Version.HasSuperuserCollection
            ? new
            {
                name,
                type = "base",
                fields = new object[]
                {
                    new { name = "file", type = "file", maxSelect = 1, maxSize = 1_000_000, @protected = true },
                    new { name = "owner", type = "relation", required = true, collectionId = users, maxSelect = 1 },
                },
                listRule = Own,
                viewRule = Own,
                createRule = "@request.auth.id != \"\" && " + Own,
            }
            : new
            {
                name,
                type = "base",
                schema = new object[]
                {
                    new { name = "file", type = "file", options = new { maxSelect = 1, maxSize = 1_000_000, @protected = true } },
                    new { name = "owner", type = "relation", required = true, options = new { collectionId = users, maxSelect = 1 } },
                },
                listRule = Own,
                viewRule = Own,
                createRule = "@request.auth.id != \"\" && " + Own,
            };
        await pocketBase.Admin.SendAsync(HttpMethod.Post, "api/collections", definition, token: null);
        return name;
    }
}
