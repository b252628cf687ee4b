using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A PocketBase of its own with its generic OIDC provider pointed at <see cref="FakeOidcProvider"/>: a local process, so
/// it reaches the provider on loopback.
/// </summary>
internal static class OidcPocketBase
{
    public static async Task<PocketBaseServer> StartAsync(FakeOidcProvider provider)
    {
        var pocketBase = await PocketBaseServer.StartAsync("process").WaitAsync(TimeSpan.FromMinutes(2));
        await pocketBase.Admin.EnableOidcAsync(
            "relay-test", "relay-test-secret", new Uri(provider.Url, "authorize"), new Uri(provider.Url, "token"), new Uri(provider.Url, "userinfo"))
            .WaitAsync(TestTimeouts.Default);
        return pocketBase;
    }
}
