using Microsoft.Extensions.DependencyInjection;
using Relay.IntegrationTests.Infrastructure;
using Relay.SharedStreams;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// A member of a class whose token dies (the user is deleted, or its password changed, which rotates the token key)
/// while another member's token holds or shares the class stream: PocketBase stops sending the class's events on the
/// dead member's own stream, and Relay must stop sending them too, at once. The write comes right after PocketBase
/// answered the deletion or the password change, as an attacker (or the isolation soak) would time it.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class ClassStreamsDeathLiveTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const string Rule = "@request.auth.name = \"editor\"";

    [Theory]
    [InlineData("delete", false)]
    [InlineData("delete", true)]
    [InlineData("revoke", false)]
    [InlineData("revoke", true)]
    public async Task MemberTokenDies_NextWriteReachesOnlyTheLiveMember(string death, bool deadHoldsTheStream)
    {
        var collection = $"sh_death_{Guid.NewGuid().ToString("N")[..8]}";
        await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(collection, FieldDefinition.Text("title")).WithReadRule(Rule)).DefaultTimeout();
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:SharedStreams:Enabled"] = "true",
            ["Relay:PocketBase:SuperuserEmail"] = PocketBaseAdmin.Email,
            ["Relay:PocketBase:SuperuserPassword"] = pocketBase.Server.SuperuserPassword,
        });
        try
        {
            var rules = relay.Services.GetRequiredService<CollectionRules>();
            var deadline = DateTime.UtcNow + TestTimeouts.Default;
            while (!rules.Current.TryGet(collection, out _))
            {
                Assert.True(DateTime.UtcNow < deadline, "the rules were not read in time");
                await Task.Delay(20);
            }

            // The first member to subscribe holds the class stream.
            var first = await ConnectAsync(relay, collection);
            var second = await ConnectAsync(relay, collection);
            Assert.Equal(1, relay.Services.GetRequiredService<ClassStreams>().Count);
            var (dead, live) = deadHoldsTheStream ? (first, second) : (second, first);

            if (death == "delete")
            {
                await pocketBase.Admin.DeleteRecordAsync("users", dead.User.Id).DefaultTimeout();
            }
            else
            {
                await pocketBase.Admin.UpdateRecordAsync("users", dead.User.Id, new { password = "a-new-password-1", passwordConfirm = "a-new-password-1" }).DefaultTimeout();
            }

            var secret = await CreateAsync(collection);
            var before = secret;
            if (deadHoldsTheStream)
            {
                // The class stream is reopened with the live member's token: what came meanwhile is owed as a Resync.
                await live.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
                secret = await CreateAsync(collection);
            }

            var received = await live.Connection.NextEventAsync();
            if (deadHoldsTheStream && received.Record.GetProperty("id").GetString() == before)
            {
                // The live member may get the write made before the Resync too: on 0.22 the revoked holder's stream
                // still carries it (PocketBase keeps that client signed in), and it is the live member's to see.
                received = await live.Connection.NextEventAsync();
            }

            Assert.Equal(("create", secret), (received.Action, received.Record.GetProperty("id").GetString()));
            if (death == "delete" || pocketBase.Version.Minor >= 39)
            {
                // 0.22 keeps a client whose password changed signed in (it takes the updated record as the client's
                // auth), so the revoked user's own stream still carries the class's events there: not a leak.
                await dead.Connection.AssertNoEventAsync();
            }

            relay.AssertNoErrorLogs();
        }
        finally
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }

    /// <summary>
    /// PocketBase's own order, on one superuser stream, when a user that records still point at is deleted: 0.23+
    /// sends every update it makes clearing those relations before the user's own <c>delete</c> (each after its own
    /// access check of every client), 0.22 sends the <c>delete</c> first. So on 0.23+ Relay's news of a death comes after
    /// all of them, however long they take, and <see cref="SharedStreamsOptions.DeathHold"/> covers only as many as fit
    /// in it (docs/shared-streams.md, "The death window, and the hold").
    /// </summary>
    [Fact]
    public async Task PocketBaseOrder_AUserStillReferencedIsDeleted_TheUpdatesClearingItComeBeforeItsDeleteOn023Plus()
    {
        const int References = 50;
        var collection = $"sh_refs_{Guid.NewGuid().ToString("N")[..8]}";
        await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(collection, FieldDefinition.Text("title"), FieldDefinition.Relation("owner", "users")).WithReadRule(Rule)).DefaultTimeout();
        try
        {
            var doomed = await pocketBase.CreateUserAsync("referenced");
            for (var i = 0; i < References; i++)
            {
                await pocketBase.Admin.CreateRecordAsync(collection, new { title = $"ref {i}", owner = doomed.Id }).DefaultTimeout();
            }

            await using var watch = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, await watch.SubscribeAsync(["users/*", collection + "/*"], pocketBase.Admin.Token));
            var started = System.Diagnostics.Stopwatch.StartNew();
            await pocketBase.Admin.DeleteRecordAsync("users", doomed.Id).DefaultTimeout();

            // Every message up to the last of the References updates and the delete, in the order the stream carried them.
            List<(string Action, string Collection, TimeSpan At)> order = [];
            while (order.Count(static message => message.Action == "update") < References || !order.Any(static message => message.Action == "delete"))
            {
                var (_, data) = await watch.Messages.ReadAsync().AsTask().DefaultTimeout();
                var record = data.GetProperty("record");
                order.Add((data.GetProperty("action").GetString()!, record.GetProperty("collectionName").GetString()!, started.Elapsed));
                Assert.True(record.GetProperty("collectionName").GetString() != collection || record.GetProperty("owner").GetString() == "", "a cascade update clears the relation");
            }

            var delete = order.FindIndex(static message => message.Action == "delete");
            Assert.Equal("users", order[delete].Collection);
            var firstUpdate = order.FindIndex(static message => message.Action == "update");
            output.WriteLine($"PocketBase {pocketBase.Version}: the delete is message {delete + 1} of {order.Count}, {(order[delete].At - order[firstUpdate].At).TotalMilliseconds:F1} ms after the first update");
            if (pocketBase.Version.HasSuperuserCollection)
            {
                // Not only after the first: after every one but the last few, which are sent from goroutines of their own.
                Assert.True(delete >= References - 5, $"the delete was message {delete + 1}");
            }
            else
            {
                Assert.Equal(0, delete);
            }
        }
        finally
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }

    private async Task<string> CreateAsync(string collection)
        => (await pocketBase.Admin.CreateRecordAsync(collection, new { title = "secret" }).DefaultTimeout()).GetProperty("id").GetString()!;

    private async Task<(PocketBaseUser User, TestConnection Connection)> ConnectAsync(RelayServer relay, string collection)
    {
        var user = await pocketBase.CreateUserAsync("death");
        await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { name = "editor" }).DefaultTimeout();
        var connection = await relay.ConnectAsync(user.Token);
        await connection.SubscribeAsync(collection + "/*");
        return (user, connection);
    }
}
