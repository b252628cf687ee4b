using System.Net;
using System.Net.Http.Json;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests;

/// <summary>The fixture itself: the PocketBase under test is the real one, of the version and in the mode CI asked for.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class PocketBaseFixtureTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public void Server_RunsInTheRequestedMode()
    {
        var requested = Environment.GetEnvironmentVariable("RELAY_POCKETBASE_MODE");
        Assert.Contains(pocketBase.Server.Mode, new[] { "container", "process" });
        if (!string.IsNullOrEmpty(requested))
        {
            Assert.Equal(requested, pocketBase.Server.Mode);
        }
    }

    [Fact]
    public async Task Server_IsTheRequestedVersion()
    {
        Assert.Equal(PocketBaseVersion.Parse(Environment.GetEnvironmentVariable(PocketBaseVersion.Setting)), pocketBase.Server.Version);
        using var http = new HttpClient { BaseAddress = pocketBase.Server.Url };
        var health = await http.GetStringAsync("api/health").DefaultTimeout();
        Assert.Contains("API is healthy", health, StringComparison.Ordinal);

        // The binary itself says so, and the server answers as that version does: 0.23+ has no /api/admins any more.
        var (_, says) = await pocketBase.Server.RunCommandAsync(["--version"]).DefaultTimeout();
        Assert.EndsWith("version " + pocketBase.Server.Version.Number, says.Trim(), StringComparison.Ordinal);
        using var admins = await http.PostAsJsonAsync("api/admins/auth-with-password", new { identity = pocketBase.Server.SuperuserEmail, password = pocketBase.Server.SuperuserPassword }).DefaultTimeout();
        Assert.Equal(pocketBase.Server.Version.HasSuperuserCollection ? HttpStatusCode.NotFound : HttpStatusCode.OK, admins.StatusCode);
    }

    [Fact]
    public async Task Superuser_SignsInWhereTheVersionSays()
    {
        using var http = new HttpClient { BaseAddress = pocketBase.Server.Url };
        using var response = await http.PostAsJsonAsync(pocketBase.Admin.SuperuserAuthPath, new { identity = pocketBase.Server.SuperuserEmail, password = pocketBase.Server.SuperuserPassword }).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(pocketBase.Admin.Token));
    }

    [Fact]
    public async Task CollectionDefinition_RelationAndRules_HoldOnThisVersion()
    {
        var name = $"fixture_{Guid.NewGuid():N}"[..20];
        await pocketBase.Admin.CreateCollectionAsync(
            new CollectionDefinition(name, FieldDefinition.Text("title"), FieldDefinition.Relation("owner", "users", required: true, cascadeDelete: true))
                .WithReadRule("owner = @request.auth.id")
                .WithWriteRule("owner = @request.auth.id")).DefaultTimeout();

        var created = await pocketBase.Admin.CreateRecordAsync(name, new { title = "mine", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        Assert.Equal(pocketBase.Alice.Id, created.GetProperty("owner").GetString());
        var seenByBob = await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{name}/records", null, pocketBase.Bob.Token).DefaultTimeout();
        Assert.Equal(0, seenByBob.GetProperty("totalItems").GetInt32());
        var refused = await Assert.ThrowsAsync<HttpRequestException>(
            () => pocketBase.Admin.CreateRecordAsync(name, new { title = "not mine", owner = pocketBase.Alice.Id }, pocketBase.Bob.Token)).DefaultTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{name}", null, null).DefaultTimeout();
    }
}
