using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Routing;
using Relay.Sessions;
using Relay.SharedStreams;
using Relay.Tests.Sessions;
using Relay.Tests.Upstream;

namespace Relay.Tests.SharedStreams;

/// <summary>
/// Class streams' routing on the fake PocketBase (issue #22 item 3): members of a class share one stream held with a
/// member's token, another class gets its own, a role change (seen on the superuser's watch, or on a holder's own record) moves the member, and the
/// holder leaving reopens the stream with another member's token. The live behaviour is in ClassStreamsLiveTests.
/// </summary>
public sealed partial class ClassStreamsTests : IAsyncDisposable
{
    private const string Topic = "posts/*";
    private const string Saved = "2026-12-07 10:00:00.000Z";
    private readonly FakeSchemaPocketBase _schema = new() { ListRule = "@request.auth.name = \"editor\"" };
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ConcurrentDictionary<string, string> _names = new();
    private readonly ConcurrentDictionary<string, FakePocketBase.SseStream> _streams = new();
    private readonly ConcurrentDictionary<string, (string ClientId, string? Authorization)> _holders = new();
    private readonly ConcurrentQueue<string> _postedTo = new();
    private readonly ConcurrentDictionary<string, int> _refreshes = new();
    private readonly CollectionRules _rules;
    private readonly SessionHarness _harness;

    public ClassStreamsTests()
    {
        var credentials = Options.Create(new SuperuserCredentialsOptions { SuperuserEmail = "admin@relay.test", SuperuserPassword = "admin-password" });
        var options = Options.Create(new SharedStreamsOptions { Enabled = true });
        var superuser = new PocketBaseSchemaClient(new PocketBaseCollectionsClient(_schema), credentials, options, TimeProvider.System);
        _rules = new CollectionRules(
            superuser,
            options,
            credentials,
            new SharedStreamsMetrics(_meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            new FakeTimeProvider(DateTimeOffset.UtcNow),
            NullLogger<CollectionRules>.Instance);
        _harness = new SessionHarness(rules: _rules, superuser: superuser);
        _harness.PocketBase.AuthRefresh = authorization =>
        {
            var id = IdOf(authorization!);
            _refreshes.AddOrUpdate(id, 1, static (_, count) => count + 1);
            if (_unavailable.ContainsKey(id))
            {
                Interlocked.Increment(ref _unavailableAnswers);
                return SessionHarness.Json(HttpStatusCode.ServiceUnavailable, """{"message":"unavailable"}""");
            }

            if (_dead.ContainsKey(id))
            {
                return SessionHarness.Json(HttpStatusCode.Unauthorized, """{"message":"invalid token"}""");
            }

            var fresh = SessionHarness.Token(id, _harness.Time.GetUtcNow() + TimeSpan.FromHours(1), salt: "fresh");
            return SessionHarness.Json(HttpStatusCode.OK, $$$"""{"token":"{{{fresh}}}","record":{"id":"{{{id}}}","collectionId":"{{{SessionHarness.UsersCollection}}}","collectionName":"users","name":"{{{_names[id]}}}","updated":"{{{_schema.Users.GetValueOrDefault(id, Saved)}}}"}}""");
        };
    }

    [Fact]
    public async Task MembersOfOneClass_ShareOneStreamHeldWithAMembersToken_AnotherClassHasItsOwn()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var carol = await JoinAsync("carol", "viewer");

        Assert.Same(alice.Session, bob.Session);
        Assert.NotSame(alice.Session, carol.Session);
        Assert.Equal(2, _harness.ClassStreams!.Count);
        // Each class stream is held with its first member's own token, never anyone else's.
        Assert.Equal("alice", IdOf(Holder(alice.Session).Authorization!));
        Assert.Equal("carol", IdOf(Holder(carol.Session).Authorization!));
        // A member's own stream holds nothing for it (PocketBase serves the class one stream); the holder's holds only
        // the watch of its own record.
        Assert.Equal(0, _harness.Manager.Find(Key("bob"))!.TopicCount);
        Assert.Equal(1, _harness.Manager.Find(Key("alice"))!.TopicCount);
        // A connection's overflow Resync asks its own session for its topics: the shared ones are named too.
        Assert.Equal([Topic], _harness.Manager.Find(Key("bob"))!.GetTopicsOf(bob.Connection));

        await _streams[Holder(alice.Session).ClientId].WriteRecordAsync(Topic, "create", "r1");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1 && bob.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(0, carol.Connection.QueuedCount);
    }

    [Fact]
    public async Task HoldersOwnRecordChanges_MovesItToItsNewClass_AnotherMemberHoldsTheStream()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var carol = await JoinAsync("carol", "viewer");
        var editors = alice.Session;

        // PocketBase tells alice's own stream (she holds the editors' stream) that her record changed: a viewer now.
        _names["alice"] = "viewer";
        await _streams[Own("alice")].WriteAsync($"{SessionHarness.UsersCollection}/alice", """{"action":"update","record":{"id":"alice","collectionId":"_pb_users_auth_","name":"viewer"}}""");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1 && IdOf(Holder(editors).Authorization ?? SessionHarness.Token("alice", default)) == "bob", TimeSpan.FromMilliseconds(10));
        Assert.Contains(alice.Connection, ConnectionsOf(carol.Session));
        // No longer a holder: its own record is no longer watched on its own stream.
        await _harness.AdvanceUntilAsync(() => _harness.Manager.Find(Key("alice"))!.TopicCount == 0, TimeSpan.FromMilliseconds(10));

        await _streams[Holder(editors).ClientId].WriteRecordAsync(Topic, "create", "for-editors");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 2, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, alice.Connection.QueuedCount);
    }

    [Fact]
    public async Task MembersRecordChanges_SeenOnTheSuperusersWatch_MovesItToItsNewClass()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var carol = await JoinAsync("carol", "viewer");
        var editors = Holder(alice.Session).ClientId;

        // bob holds nothing, so only the superuser's watch sees his record change; his own token's answer is the new record.
        _names["bob"] = "viewer";
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"viewer"}}""");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 1 && ConnectionsOf(carol.Session).Contains(bob.Connection), TimeSpan.FromMilliseconds(10));
        Assert.DoesNotContain(bob.Connection, ConnectionsOf(alice.Session));

        await _streams[editors].WriteRecordAsync(Topic, "create", "for-editors");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
    }

    [Fact]
    public async Task HolderLeaves_StreamMovesToAnotherMembersTokenWithoutAGap_OverlapDeliveredOnce_NoResync()
    {
        // alice leaves, still an editor: her stream carries the class's events until bob's is accepted (a rotation).
        // Before, the stream was closed and reopened, and every member got a Resync (a refetch each from PocketBase).
        var (bob, old) = await HolderAliceLeavesAsync();
        var after = Holder(bob.Session);
        Assert.Equal("bob", IdOf(after.Authorization!));
        var current = _streams[after.ClientId];
        Assert.False(old.IsClosed);

        // The overlap: a change PocketBase sent on both streams, one only the old stream had, one only the new one has.
        await old.WriteRecordAsync(Topic, "create", "both");
        await old.WriteRecordAsync(Topic, "create", "old-only");
        await current.WriteRecordAsync(Topic, "create", "both");
        await current.WriteRecordAsync(Topic, "create", "new-only");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 3, TimeSpan.FromMilliseconds(50));
        await AdvanceAsync(TimeSpan.FromSeconds(3)); // past the overlap (2 s)
        await current.WriteRecordAsync(Topic, "create", "later");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 4, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();

        // Each once, and nothing else: no Resync (before: a Resync, and the overlap's old-only event lost).
        Assert.Equal(["both", "later", "new-only", "old-only"], Take(bob.Connection).Order(StringComparer.Ordinal));

        // The last member leaves: the class stream closes.
        _harness.Manager.Detach(bob.Connection);
        await _harness.AdvanceUntilAsync(() => _harness.ClassStreams!.Count == 0, TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public async Task HolderLeaves_ItsRecordChangesDuringTheOverlap_StreamStopsDelivering_MembersResynced()
    {
        var (bob, old) = await HolderAliceLeavesAsync();

        // During the overlap alice becomes an admin: PocketBase evaluates her stream under her new record, so what it
        // carries from now on may not be the editors'. Seen on the superuser's watch, the stream stops delivering at once.
        _names["alice"] = "admin";
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"alice","collectionId":"_pb_users_auth_","name":"admin"}}""");
        await Task.Delay(100);
        await old.WriteRecordAsync(Topic, "create", "for-admins");

        // The members get a Resync (what was dropped is refetched) and never the admins' record.
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 1, TimeSpan.FromMilliseconds(50));
        await AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(["Resync"], Take(bob.Connection));
        Assert.Equal("bob", IdOf(Holder(bob.Session).Authorization!));
    }

    [Fact]
    public async Task HolderMovedByItsOwnRecord_TheSuperusersWatchSeesTheSameChangeDuringTheReopen_TheStreamKeepsDelivering()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var editors = alice.Session;

        // Every POST of the class topic waits from now on: the editors' reopen for bob, and alice's new class stream.
        var posted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        _harness.PocketBase.BeforePostAnswered = async (_, topics) =>
        {
            if (topics.Contains(Topic))
            {
                posted.TrySetResult();
                await release.Task;
            }
        };

        // alice, the holder, becomes a viewer: seen first on her own stream, which moves her and reopens the editors'
        // stream for bob; the superuser's watch carries the same change while that reopen waits for PocketBase.
        _names["alice"] = "viewer";
        await _streams[Own("alice")].WriteAsync($"{SessionHarness.UsersCollection}/alice", """{"action":"update","record":{"id":"alice","collectionId":"_pb_users_auth_","name":"viewer"}}""");
        await PumpAsync(posted.Task);
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"alice","collectionId":"_pb_users_auth_","name":"viewer"}}""");
        await Task.Delay(200);
        release.TrySetResult();
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 1 && Holder(editors).ClientId is not null, TimeSpan.FromMilliseconds(10));
        await AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(["Resync"], Take(bob.Connection));

        // The reopened stream delivers. Before, the second sighting suspended it again after its reopen (the holder
        // counted as one leaving without a gap), and it dropped every event from then on, silently.
        await _streams[Holder(editors).ClientId].WriteRecordAsync(Topic, "create", "for-editors");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount >= 1, TimeSpan.FromMilliseconds(10), limit: TimeSpan.FromSeconds(5));
        Assert.Equal(["for-editors"], Take(bob.Connection));
    }

    [Fact]
    public async Task RuleChangedToPerUser_ReadAgain_MembersMoveToTheirOwnStreams_WithAResync()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");

        _schema.ListRule = "owner = @request.auth.id";
        await ReadRulesAsync();
        // At least one Resync each (the member moving last may also get one for the holder change the first caused).
        await _harness.AdvanceUntilAsync(() => _harness.ClassStreams!.Count == 0 && alice.Connection.QueuedCount >= 1 && bob.Connection.QueuedCount >= 1, TimeSpan.FromMilliseconds(10));
        Assert.True(_harness.Manager.Find(Key("alice"))!.HoldsTopic(Topic));
        Assert.True(_harness.Manager.Find(Key("bob"))!.HoldsTopic(Topic));
    }

    [Fact]
    public async Task MembersArriveAfterTheFirstPick_TheSampleFillsUpAtTheNextSweep_NotAtTheNextRotation()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");

        // The first sweep (every ShadowWindow ÷ 2 = 2.5 s) samples the only member placed: alice, whose own stream then
        // holds the topic beside the watch of her own record.
        await _harness.AdvanceUntilAsync(() => OwnHoldsTopic("alice"), TimeSpan.FromMilliseconds(500), limit: TimeSpan.FromSeconds(5));
        await JoinAsync("bob", "editor");
        await JoinAsync("dave", "editor");
        Assert.False(OwnHoldsTopic("bob"));

        // Sample size 3, three members: the two who came later are compared from the next sweep on, not from the next
        // rotation a minute later (before, the sample stayed at alice alone until then).
        await _harness.AdvanceUntilAsync(() => OwnHoldsTopic("bob") && OwnHoldsTopic("dave"), TimeSpan.FromMilliseconds(500), limit: TimeSpan.FromSeconds(5));
        Assert.True(OwnHoldsTopic("alice"));
    }

    [Fact]
    public async Task PerUserRule_StaysOnTheUsersOwnStream()
    {
        _schema.ListRule = "owner = @request.auth.id";
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        Assert.Same(_harness.Manager.Find(Key("alice")), alice.Session);
        Assert.Equal(0, _harness.ClassStreams!.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.DisposeAsync();
        _rules.Dispose();
        await _meters.DisposeAsync();
    }

    private static SessionKey Key(string id) => new(SessionHarness.UsersCollection, id);

    /// <summary>
    /// alice (holder) and bob join the editors' stream, alice leaves: returns bob and alice's stream once bob's token
    /// holds a new one beside it.
    /// </summary>
    private async Task<((RelayConnection Connection, UserSession Session) Bob, FakePocketBase.SseStream Old)> HolderAliceLeavesAsync()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var before = Holder(alice.Session);
        _harness.Manager.Detach(alice.Connection);
        await _harness.AdvanceUntilAsync(() => Holder(bob.Session).ClientId is { } id && id != before.ClientId, TimeSpan.FromMilliseconds(10));
        return (bob, _streams[before.ClientId]);
    }

    /// <summary>What was queued for <paramref name="connection"/>, taken: each event's record id, or a control message's name.</summary>
    private static List<string> Take(RelayConnection connection)
    {
        var taken = new List<string>();
        while (connection.TryTakeQueued(out var queued))
        {
            var invocation = Assert.IsType<Microsoft.AspNetCore.SignalR.Protocol.InvocationMessage>(queued.Message.Message);
            taken.Add(invocation.Arguments[0] is Relay.Client.Protocol.RelayEvent relayEvent ? relayEvent.Record.GetProperty("id").GetString()! : invocation.Target);
        }

        return taken;
    }

    /// <summary>Moves the fake clock on by <paramref name="span"/> in small steps, letting continuations run between them.</summary>
    private async Task AdvanceAsync(TimeSpan span)
    {
        for (var advanced = TimeSpan.Zero; advanced < span; advanced += TimeSpan.FromMilliseconds(50))
        {
            _harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5);
        }

        await SessionHarness.SettleAsync();
    }

    private bool OwnHoldsTopic(string id) => _harness.Manager.Find(Key(id))?.HoldsTopic(Topic) == true;

    /// <summary>The user a token (as SessionHarness.Token makes them) was issued to.</summary>
    private static string IdOf(string token)
    {
        using var payload = System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));
        return payload.RootElement.GetProperty("id").GetString()!;
    }

    private async Task ReadRulesAsync() => Assert.True(await _rules.ReadOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

    private async Task<(RelayConnection Connection, UserSession Session)> JoinAsync(string id, string name)
    {
        _names[id] = name;
        var connection = _harness.NewConnection();
        var expiresAt = _harness.Time.GetUtcNow() + TimeSpan.FromHours(1);
        var member = _harness.Manager.Attach(connection, Key(id), SessionHarness.Token(id, expiresAt), expiresAt);
        var request = new TopicSubscription(Topic, Topic);
        var routing = _harness.ClassStreams!.RouteAsync(member, connection, request, options: null, CancellationToken.None).AsTask();
        await PumpAsync(routing);
        var session = await routing;
        await PumpAsync(session.SubscribeCheckedAsync(connection, request, since: null, 100, TimeSpan.FromSeconds(10), CancellationToken.None));
        return (connection, session);
    }

    /// <summary>Records the fake's streams and posts while <paramref name="task"/> runs.</summary>
    private async Task PumpAsync(Task task)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!task.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "not done in time");
            Collect();
            await Task.Delay(10);
        }

        Collect();
        await task;
    }

    private void Collect()
    {
        while (_harness.PocketBase.Streams.Reader.TryRead(out var stream))
        {
            _streams[stream.ClientId] = stream;
        }

        while (_harness.PocketBase.Posts.Reader.TryRead(out var post))
        {
            _postedTo.Enqueue(post.ClientId);
            foreach (var topic in post.Topics)
            {
                _holders[topic + "@" + post.ClientId] = (post.ClientId, post.Authorization);
            }
        }
    }

    /// <summary>The newest stream that posted the class topic on behalf of <paramref name="session"/>'s class.</summary>
    private (string ClientId, string? Authorization) Holder(UserSession session)
    {
        Collect();
        var clientIds = _holders.Where(pair => pair.Key.StartsWith(Topic + "@", StringComparison.Ordinal)).Select(pair => pair.Value).ToArray();
        var token = session.Token!;
        return clientIds.LastOrDefault(entry => entry.Authorization == token && _streams.TryGetValue(entry.ClientId, out var stream) && !stream.IsClosed);
    }

    private string Own(string id)
    {
        Collect();
        return _holders[$"{SessionHarness.UsersCollection}/{id}@" + _holders.Keys.Where(key => key.StartsWith($"{SessionHarness.UsersCollection}/{id}@", StringComparison.Ordinal)).Select(key => key.Split('@')[1]).Last()].ClientId;
    }

    private static IReadOnlyList<RelayConnection> ConnectionsOf(UserSession session) => session.Connections;
}
