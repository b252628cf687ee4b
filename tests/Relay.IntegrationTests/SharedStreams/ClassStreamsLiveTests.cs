using Microsoft.Extensions.DependencyInjection;
using Relay.IntegrationTests.Infrastructure;
using Relay.Sessions;
using Relay.SharedStreams;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// Issue 22, item 3, against the real PocketBase of the run: members of one class share one PocketBase stream held with
/// a member's own token, each gets each event once, another class gets none of it, a role change moves the member at
/// once, the holder leaving moves the stream to another member, per-user rules stay per user, and sharing off is
/// today's behaviour. The rule reads <c>name</c>, a field PocketBase reads from the user's record at each event.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class ClassStreamsLiveTests(PocketBaseFixture pocketBase)
{
    private const string Rule = "@request.auth.name = \"editor\" || title = \"public\"";

    [Fact]
    public async Task TwoMembersOfOneClass_ShareOneStream_AnotherClassGetsNoneOfItsEvents()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true);
        var editor1 = await scene.ConnectAsync("editor");
        var editor2 = await scene.ConnectAsync("editor");
        var viewer = await scene.ConnectAsync("viewer");

        // Two classes, so two class streams, each holding the topic once.
        Assert.Equal(2, scene.ClassStreams.Count);
        Assert.Equal(2, scene.Relay.Gauge("relay.shared.class_streams", new("collection", scene.Collection)));
        Assert.Equal(2, scene.Relay.Gauge("relay.shared.topics", new("mode", "shared")));
        // Beside them the superuser's watch of the users collection (deaths; its events reach no connection), the two
        // holders' own streams (the watch of their own record) and, once the shadow sample (3) is picked, the third
        // member's own stream (the topic, compared): six. A member neither holder nor sampled has none (unit tests).
        await scene.Relay.WaitForGaugeAsync("relay.upstream.streams", 6);

        var secret = await scene.CreateAsync("secret");
        var open = await scene.CreateAsync("public");
        foreach (var editor in new[] { editor1, editor2 })
        {
            await editor.Connection.NextEventAsync("create", secret);
            await editor.Connection.NextEventAsync("create", open);
        }

        // The viewer's first event is the public one: had the secret reached it, it would be queued before.
        await viewer.Connection.NextEventAsync("create", open);
        foreach (var user in new[] { editor1, editor2, viewer })
        {
            await user.Connection.AssertNoEventAsync();
        }

        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RoleChange_MovesTheMemberAtOnce()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true);
        var stays = await scene.ConnectAsync("editor");
        var demoted = await scene.ConnectAsync("editor");

        await pocketBase.Admin.UpdateRecordAsync("users", demoted.User.Id, new { name = "viewer" }).DefaultTimeout();
        var resync = await demoted.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        Assert.Contains(scene.Topic, resync.Signal.Topics);

        var secret = await scene.CreateAsync("secret");
        var open = await scene.CreateAsync("public");
        await stays.Connection.NextEventAsync("create", secret);
        await stays.Connection.NextEventAsync("create", open);
        await demoted.Connection.NextEventAsync("create", open);
        await demoted.Connection.AssertNoEventAsync();

        // And back: promoted again, the member sees the editors' records again.
        await pocketBase.Admin.UpdateRecordAsync("users", demoted.User.Id, new { name = "editor" }).DefaultTimeout();
        await demoted.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        var second = await scene.CreateAsync("secret");
        await demoted.Connection.NextEventAsync("create", second);
        await stays.Connection.NextEventAsync("create", second);
        Assert.True(scene.Relay.Logs.Entries.Count(entry => entry.EventId.Id == 11023) >= 2, "both moves are logged");
        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task PocketBaseGivesNoVerdictOnAMember_TheMemberStaysInItsClass_NoStreamOfItsOwn_BackOnceAnswered()
    {
        // auth-refresh answered 503 for a while (PocketBase restarting or overloaded; or, with thousands of members, the
        // verifier's queue full after a gap on the superuser's watch): before, the member was dismissed to a stream of its
        // own and kept it until one of its connections subscribed again.
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, "/auth-refresh");
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true, new()
        {
            ["Relay:SharedStreams:ShadowSampleSize"] = "1",
            ["Relay:SharedStreams:ShadowRotateInterval"] = "01:00:00",
        }, upstream: proxy.Url);
        var members = new List<Member>();
        for (var i = 0; i < 3; i++)
        {
            members.Add(await scene.ConnectAsync("editor"));
        }

        // One that neither holds the class stream (the first) nor is the shadow sample (picked at once when nothing is):
        // no topic on a stream of its own. The rotation is an hour away.
        await scene.Relay.WaitForGaugeAsync("relay.shared.class_streams", 1, new("collection", scene.Collection));
        await Task.Delay(TestTimeouts.Quiet);
        var plain = members.Skip(1).First(member => scene.Sessions.Find(new SessionKey(member.User.CollectionId, member.User.Id))!.TopicCount == 0);
        var session = scene.Sessions.Find(new SessionKey(plain.User.CollectionId, plain.User.Id))!;
        var asked = proxy.Count("/auth-refresh");
        proxy.AnswerInstead = path => path.EndsWith("/auth-refresh", StringComparison.Ordinal) ? 503 : null;
        // A change of the member's record the rule does not read: seen on the superuser's watch, verified with its token.
        await pocketBase.Admin.UpdateRecordAsync("users", plain.User.Id, new { name = "editor" }).DefaultTimeout();
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (proxy.Count("/auth-refresh") == asked)
        {
            Assert.True(DateTime.UtcNow < deadline, "the member was not verified again");
            await Task.Delay(20);
        }

        await Task.Delay(TestTimeouts.Quiet);
        Assert.Equal(0, session.TopicCount);
        Assert.Contains(scene.Relay.Logs.Entries, entry => entry.EventId.Id == 11032);

        // PocketBase answers again: the member is asked again within 10 s, stays in its class, and gets its events.
        proxy.AnswerInstead = null;
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (proxy.Count("/auth-refresh") < asked + 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the member was not asked again");
            await Task.Delay(50);
        }

        await Task.Delay(TestTimeouts.Quiet);
        var secret = await scene.CreateAsync("secret");
        await plain.Connection.NextEventAsync("create", secret);
        Assert.Equal(0, session.TopicCount);
        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task HolderLeaves_TheStreamMovesToAnotherMembersToken_TheOthersMissNothing_NoResync()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true);
        // The first member opens the stream with its token.
        var holder = await scene.ConnectAsync("editor");
        var other = await scene.ConnectAsync("editor");
        await holder.Connection.DisposeAsync();

        // Changes made while the stream moves to the other member's token, make before break (a new stream subscribed
        // with that token, the old one read for an overlap): each reaches the other member once. Before, the stream was
        // closed and reopened and every member got a Resync, a refetch each from PocketBase, whenever a holder left.
        var during = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            during.Add(await scene.CreateAsync("secret"));
            await Task.Delay(250);
        }

        foreach (var id in during)
        {
            await other.Connection.NextEventAsync("create", id);
        }

        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!scene.Relay.Logs.Entries.Any(entry => entry.EventId.Id == 1009 && entry.Text.Contains("\"holder\"", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the class stream did not move to the other member's token (log 1009, reason holder)");
            await Task.Delay(50);
        }

        Assert.Equal(1, scene.ClassStreams.Count);
        var after = await scene.CreateAsync("secret");
        await other.Connection.NextEventAsync("create", after);
        await other.Connection.AssertNoEventAsync();
        Assert.False(other.Connection.Resyncs.TryRead(out var resync), $"A holder that left cost a Resync ({resync.Signal?.Reason}).");

        // The last member leaves: the class stream closes.
        await other.Connection.DisposeAsync();
        await scene.Relay.WaitForGaugeAsync("relay.shared.class_streams", 0, new("collection", scene.Collection));
        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RuleChangedToPerUser_ReadAgain_MembersGoBackToTheirOwnStreams()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true);
        var first = await scene.ConnectAsync("editor");
        var second = await scene.ConnectAsync("editor");
        Assert.Equal(1, scene.ClassStreams.Count);

        // PocketBase now shows each user only their own records; Relay's next read of the rules must take the members
        // off the class stream, or the holder's records would keep reaching the other member.
        await pocketBase.Admin.SendAsync(HttpMethod.Patch, $"api/collections/{scene.Collection}", new { listRule = "title = @request.auth.id", viewRule = "title = @request.auth.id" }, null).DefaultTimeout();
        await scene.Relay.Services.GetRequiredService<CollectionRules>().RefreshAsync(CancellationToken.None).DefaultTimeout();
        await first.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        await second.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        await scene.Relay.WaitForGaugeAsync("relay.shared.class_streams", 0, new("collection", scene.Collection));

        var firsts = await scene.CreateAsync(first.User.Id);
        await first.Connection.NextEventAsync("create", firsts);
        await second.Connection.AssertNoEventAsync();
        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task ShadowVerification_RuleChangedUnseen_DisagreementSwitchesSharingOffForTheCollection()
    {
        // Relay does not read the rules again during the test: only shadow verification can notice the change.
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true, new()
        {
            ["Relay:SharedStreams:RulesRefreshInterval"] = "01:00:00",
            ["Relay:SharedStreams:RulesMaxAge"] = "02:00:00",
            ["Relay:SharedStreams:ShadowSampleSize"] = "10",
            ["Relay:SharedStreams:ShadowWindow"] = "00:00:01",
            ["Relay:SharedStreams:ShadowRotateInterval"] = "00:00:01",
        });
        var holder = await scene.ConnectAsync("editor");
        var sampled = await scene.ConnectAsync("editor");
        // Both members shadowed (the sample covers everyone), and comparing (past the grace after it started).
        await scene.CreateAsync("public");
        await Task.Delay(TimeSpan.FromSeconds(3));
        holder.Connection.Drain();
        sampled.Connection.Drain();

        await pocketBase.Admin.SendAsync(HttpMethod.Patch, $"api/collections/{scene.Collection}", new { listRule = "title = @request.auth.id", viewRule = "title = @request.auth.id" }, null).DefaultTimeout();
        // The class stream (the holder's rights) does not carry this one; the sampled member's own stream does.
        await scene.CreateAsync(sampled.User.Id);
        await scene.Relay.WaitForGaugeAsync("relay.shared.class_streams", 0, new("collection", scene.Collection));
        Assert.Contains(scene.Relay.Logs.Entries, entry => entry.EventId.Id == 11026);
        Assert.Single(scene.ClassStreams.Disabled);

        // Per user from now on: each member gets only what PocketBase sends them alone. The holder's Resync (it never
        // got one before: it held the stream) comes once its own stream holds the topic again.
        var moved = await holder.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
        Assert.Contains(scene.Topic, moved.Signal.Topics);
        sampled.Connection.Drain();
        holder.Connection.Drain();
        var holders = await scene.CreateAsync(holder.User.Id);
        await holder.Connection.NextEventAsync("create", holders);
        await sampled.Connection.AssertNoEventAsync();
    }

    [Fact]
    public async Task SuperusersWatchGap_PocketBaseRestarts_MembersReadInOneSuperuserList_NotOneAuthRefreshEach()
    {
        // A gap on the superuser's watch (here PocketBase restarting) may hide a deletion or a change: every member is
        // fenced and checked. Before, with one auth-refresh each, all at once (thousands after a restart of a busy
        // PocketBase), and every member sent nothing until its own answer came.
        await using var proxy = await CountingProxy.StartAsync(pocketBase.Server.Url, "/auth-refresh", "/records");
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true, new()
        {
            ["Relay:PocketBase:ReconnectMaxDelay"] = "00:00:01",
        }, upstream: proxy.Url);
        var members = new List<Member>();
        for (var i = 0; i < 3; i++)
        {
            members.Add(await scene.ConnectAsync("editor"));
        }

        await pocketBase.Server.KillAsync().DefaultTimeout();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await pocketBase.Server.StartAgainAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        CapturedLogs.LogEntry? read;
        while ((read = scene.Relay.Logs.Entries.FirstOrDefault(static entry => entry.EventId.Id == 11035)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the members were not read after the gap");
            await Task.Delay(20);
        }

        // One list for all; those whose record was not saved since are kept without a call (a holder's own watch had a
        // gap too, and may have forgotten its record: that one is asked on its own).
        Assert.Equal(1, proxy.Count("/records"));
        var counts = System.Text.RegularExpressions.Regex.Match(read.Text, @"(\d+) members .* (\d+) superuser lists: (\d+) unchanged .* (\d+) gone .* (\d+) verified one by one");
        Assert.True(counts.Success, read.Text);
        Assert.Equal("1", counts.Groups[2].Value);
        Assert.True(int.Parse(counts.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2, read.Text);
        Assert.Equal("0", counts.Groups[4].Value);

        // The class stream came back too: each member is told to refetch, then gets the next write.
        foreach (var member in members)
        {
            await member.Connection.Resyncs.ReadAsync().AsTask().DefaultTimeout();
            member.Connection.Drain();
        }

        var after = await scene.CreateAsync("after the restart");
        foreach (var member in members)
        {
            await member.Connection.NextEventAsync("create", after);
        }

        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task OwnerRule_StaysPerUser()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: true);
        var alice = await scene.Relay.ConnectAsync(pocketBase.Alice.Token);
        var bob = await scene.Relay.ConnectAsync(pocketBase.Bob.Token);
        await alice.SubscribeAsync("notes/*");
        await bob.SubscribeAsync("notes/*");
        Assert.Equal(0, scene.ClassStreams.Count);
        Assert.Equal(0, scene.Relay.Gauge("relay.shared.topics", new("mode", "shared")));

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "alice's", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await alice.NextEventAsync("create", note.GetProperty("id").GetString()!);
        await bob.AssertNoEventAsync();
        scene.Relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task SharingOff_EveryUserKeepsTheirOwnStream()
    {
        await using var scene = await Scene.StartAsync(pocketBase, sharing: false);
        var editor1 = await scene.ConnectAsync("editor");
        var editor2 = await scene.ConnectAsync("editor");
        var viewer = await scene.ConnectAsync("viewer");
        Assert.Equal(0, scene.ClassStreams.Count);
        Assert.Equal(3, scene.Relay.Gauge("relay.upstream.streams"));

        var secret = await scene.CreateAsync("secret");
        var open = await scene.CreateAsync("public");
        await editor1.Connection.NextEventAsync("create", secret);
        await editor2.Connection.NextEventAsync("create", secret);
        await viewer.Connection.NextEventAsync("create", open);
        await viewer.Connection.AssertNoEventAsync();
    }

    private sealed record Member(PocketBaseUser User, TestConnection Connection);

    /// <summary>A collection under <see cref="Rule"/>, a Relay reading its rules, and users connected to its topic.</summary>
    private sealed class Scene(PocketBaseFixture pocketBase, string collection, RelayServer relay) : IAsyncDisposable
    {
        public string Collection => collection;

        public string Topic => collection + "/*";

        public RelayServer Relay => relay;

        public ClassStreams ClassStreams => relay.Services.GetRequiredService<ClassStreams>();

        public SessionManager Sessions => relay.Services.GetRequiredService<SessionManager>();

        public static async Task<Scene> StartAsync(PocketBaseFixture pocketBase, bool sharing, Dictionary<string, string?>? extra = null, Uri? upstream = null)
        {
            var collection = $"sh_class_{Guid.NewGuid().ToString("N")[..8]}";
            await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(collection, FieldDefinition.Text("title")).WithReadRule(Rule)).DefaultTimeout();
            var relay = RelayServer.Start(upstream ?? pocketBase.Server.Url, new Dictionary<string, string?>
            {
                ["Relay:SharedStreams:Enabled"] = sharing ? "true" : "false",
                ["Relay:PocketBase:SuperuserEmail"] = PocketBaseAdmin.Email,
                ["Relay:PocketBase:SuperuserPassword"] = pocketBase.Server.SuperuserPassword,
            }.Concat(extra ?? []).ToDictionary());
            if (sharing)
            {
                var rules = relay.Services.GetRequiredService<CollectionRules>();
                var deadline = DateTime.UtcNow + TestTimeouts.Default;
                while (!rules.Current.TryGet(collection, out _))
                {
                    Assert.True(DateTime.UtcNow < deadline, "the rules were not read in time");
                    await Task.Delay(20);
                }
            }

            return new Scene(pocketBase, collection, relay);
        }

        public async Task<Member> ConnectAsync(string role)
        {
            var user = await pocketBase.CreateUserAsync("class");
            await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { name = role }).DefaultTimeout();
            var connection = await relay.ConnectAsync(user.Token);
            await connection.SubscribeAsync(Topic);
            return new Member(user, connection);
        }

        public async Task<string> CreateAsync(string title)
            => (await pocketBase.Admin.CreateRecordAsync(collection, new { title }).DefaultTimeout()).GetProperty("id").GetString()!;

        public async ValueTask DisposeAsync()
        {
            await relay.DisposeAsync();
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }
}
