using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>The fixture itself: the PocketBase under test is the real one, in the mode CI asked for.</summary>
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
    public async Task Server_IsPocketBase0_22_20()
    {
        using var http = new HttpClient { BaseAddress = pocketBase.Server.Url };
        var health = await http.GetStringAsync("api/health").DefaultTimeout();
        Assert.Contains("API is healthy", health, StringComparison.Ordinal);
        Assert.Equal(Relay.Testing.PocketBase.PocketBaseBinary.Version, "0.22.20");
    }
}
