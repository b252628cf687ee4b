using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// One real PocketBase for the whole run, of the version <c>RELAY_POCKETBASE_VERSION</c> asks for, with the test schema
/// and two users, alice and bob.
/// </summary>
public sealed class PocketBaseFixture : IAsyncLifetime
{
    public PocketBaseServer Server { get; private set; } = null!;

    public PocketBaseUser Alice { get; private set; } = null!;

    public PocketBaseUser Bob { get; private set; } = null!;

    public PocketBaseAdmin Admin => Server.Admin;

    /// <summary>The PocketBase version under test (<c>RELAY_POCKETBASE_VERSION</c>), for the few places where 0.22 and 0.23+ differ.</summary>
    public PocketBaseVersion Version => Server.Version;

    public async Task InitializeAsync()
    {
        Server = await PocketBaseServer.StartAsync().WaitAsync(TimeSpan.FromMinutes(3));
        await Server.Admin.CreateTestSchemaAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Alice = await Server.Admin.CreateUserAsync("alice@relay.test", "alice-password-1").WaitAsync(TimeSpan.FromSeconds(30));
        Bob = await Server.Admin.CreateUserAsync("bob@relay.test", "bob-password-1").WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Creates a fresh user, so a test that counts a user's sessions or streams is not disturbed by others.</summary>
    public Task<PocketBaseUser> CreateUserAsync(string name)
        => Server.Admin.CreateUserAsync($"{name}-{Guid.NewGuid():N}@relay.test", "password-" + name).WaitAsync(TimeSpan.FromSeconds(30));

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PocketBaseCollection : ICollectionFixture<PocketBaseFixture>
{
    public const string Name = "PocketBase";
}
