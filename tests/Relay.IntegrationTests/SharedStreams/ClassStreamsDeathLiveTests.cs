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
            await WaitForRulesAsync(relay, collection);

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
    /// The dead member was still referenced by records of the class's collection: PocketBase 0.23+ clears each relation
    /// with an update (sent to the live member) and announces the deletion only after all of them, here hundreds of ms
    /// later (every update is checked against each of the other clients first). Relay's hook announces it before the
    /// deletion starts, on the superuser watch's <see cref="AuthRecordWatch.DeathsTopic"/>: none of those updates may
    /// reach the dead member, as none reaches it on its own PocketBase stream.
    /// </summary>
    [Fact]
    public async Task MemberStillReferencedIsDeleted_TheUpdatesClearingItReachOnlyTheLiveMember()
    {
        const int References = 100;
        var collection = $"sh_refd_{Guid.NewGuid().ToString("N")[..8]}";
        await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(collection, FieldDefinition.Text("title"), FieldDefinition.Relation("owner", "users")).WithReadRule(Rule)).DefaultTimeout();
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:SharedStreams:Enabled"] = "true",
            ["Relay:PocketBase:SuperuserEmail"] = PocketBaseAdmin.Email,
            ["Relay:PocketBase:SuperuserPassword"] = pocketBase.Server.SuperuserPassword,
        });
        List<RawRealtimeClient> others = [];
        try
        {
            await WaitForRulesAsync(relay, collection);
            var live = await ConnectAsync(relay, collection);
            var dead = await ConnectAsync(relay, collection);
            Assert.Equal(1, relay.Services.GetRequiredService<ClassStreams>().Count);
            for (var i = 0; i < References; i++)
            {
                await pocketBase.Admin.CreateRecordAsync(collection, new { title = $"ref {i}", owner = dead.User.Id }).DefaultTimeout();
            }

            for (var i = 0; i < References; i++)
            {
                await live.Connection.NextEventAsync();
                await dead.Connection.NextEventAsync();
            }

            // Other clients of the collection, as a busy PocketBase has: each update is checked against every one of them.
            for (var i = 0; i < 20; i++)
            {
                var other = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
                others.Add(other);
                Assert.Equal(System.Net.HttpStatusCode.NoContent, await other.SubscribeAsync([collection + "/*"], live.User.Token));
            }

            await pocketBase.Admin.DeleteRecordAsync("users", dead.User.Id).DefaultTimeout();
            for (var i = 0; i < References; i++)
            {
                Assert.Equal("update", (await live.Connection.NextEventAsync()).Action);
            }

            await dead.Connection.AssertNoEventAsync();
            var after = await CreateAsync(collection);
            await live.Connection.NextEventAsync("create", after);
            await dead.Connection.AssertNoEventAsync();
            relay.AssertNoErrorLogs();
        }
        finally
        {
            foreach (var other in others)
            {
                await other.DisposeAsync();
            }

            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }

    /// <summary>
    /// Relay's PocketBase hook, as installed: on 0.23+ it announces an auth record's deletion on <c>relay/deaths</c>
    /// before PocketBase's own <c>delete</c>, to superuser clients only (a user or a guest subscribed to the topic gets
    /// nothing), and answers <c>GET /api/relay/hooks</c> for superusers only. On 0.22 it does nothing.
    /// </summary>
    [Fact]
    public async Task RelaysHook_AnnouncesADeletionFirst_ToSuperusersOnly()
    {
        var doomed = await pocketBase.CreateUserAsync("announced");
        var bystander = await pocketBase.CreateUserAsync("bystander");
        await using var superuser = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
        await using var user = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
        await using var guest = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, await superuser.SubscribeAsync([AuthRecordWatch.DeathsTopic, "users/*"], pocketBase.Admin.Token));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, await user.SubscribeAsync([AuthRecordWatch.DeathsTopic], bystander.Token));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, await guest.SubscribeAsync([AuthRecordWatch.DeathsTopic]));

        await pocketBase.Admin.DeleteRecordAsync("users", doomed.Id).DefaultTimeout();
        var (topic, data) = await superuser.Messages.ReadAsync().AsTask().DefaultTimeout();
        if (pocketBase.Version.HasSuperuserCollection)
        {
            Assert.Equal(AuthRecordWatch.DeathsTopic, topic);
            Assert.Equal("delete", data.GetProperty("action").GetString());
            Assert.Equal(doomed.Id, data.GetProperty("record").GetProperty("id").GetString());
            Assert.Equal("users", data.GetProperty("record").GetProperty("collectionName").GetString());
            (topic, data) = await superuser.Messages.ReadAsync().AsTask().DefaultTimeout();
        }

        // PocketBase's own delete (first, on 0.22).
        Assert.Equal(("users/*", "delete", doomed.Id), (topic, data.GetProperty("action").GetString(), data.GetProperty("record").GetProperty("id").GetString()));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(superuser.Messages.TryRead(out _) || user.Messages.TryRead(out _) || guest.Messages.TryRead(out _), "nothing else, and nothing for a user or a guest");

        using var http = new HttpClient { BaseAddress = pocketBase.Server.Url };
        async Task<System.Net.HttpStatusCode> ProbeAsync(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/relay/hooks");
            if (token is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", token);
            }

            using var response = await http.SendAsync(request).DefaultTimeout();
            return response.StatusCode;
        }

        Assert.Equal(pocketBase.Version.HasSuperuserCollection ? System.Net.HttpStatusCode.OK : System.Net.HttpStatusCode.NotFound, await ProbeAsync(pocketBase.Admin.Token));
        if (pocketBase.Version.HasSuperuserCollection)
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, await ProbeAsync(bystander.Token));
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await ProbeAsync(null));
        }
    }

    /// <summary>
    /// PocketBase's own order, on one superuser stream, when a user that records still point at is deleted: 0.23+
    /// sends every update it makes clearing those relations before the user's own <c>delete</c> (each after its own
    /// access check of every client), 0.22 sends the <c>delete</c> (nearly) first. So on 0.23+ Relay's news of a death comes after
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
            // Each message is sent from a goroutine of its own, so neighbours may swap: after every update but the last
            // few on 0.23+, before every one but the first few on 0.22.
            Assert.True(pocketBase.Version.HasSuperuserCollection ? delete >= References - 5 : delete <= 5, $"the delete was message {delete + 1}");
        }
        finally
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }

    private static async Task WaitForRulesAsync(RelayServer relay, string collection)
    {
        var rules = relay.Services.GetRequiredService<CollectionRules>();
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!rules.Current.TryGet(collection, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "the rules were not read in time");
            await Task.Delay(20);
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
