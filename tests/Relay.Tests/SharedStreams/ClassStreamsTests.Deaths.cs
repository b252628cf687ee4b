using System.Collections.Concurrent;
using Relay.Fanout;
using Relay.Sessions;
using Relay.Tests.Sessions;

namespace Relay.Tests.SharedStreams;

/// <summary>
/// A member's death seen on the superuser's watch of the auth collection (the member's own stream never sees it:
/// PocketBase unsets that client's auth first): a deletion takes the member off the class stream at once; an update
/// is verified with the member's own token, refused means dead, accepted keeps the member in its class.
/// </summary>
public sealed partial class ClassStreamsTests
{
    private readonly ConcurrentDictionary<string, bool> _dead = new();
    private readonly ConcurrentDictionary<string, bool> _unavailable = new();
    private int _unavailableAnswers;

    [Fact]
    public async Task MemberDeleted_SeenOnTheSuperusersWatch_LeavesTheClassStream_TheOtherKeepsIt()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();

        _dead["bob"] = true;
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"delete","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        // Moved per user at once: a Resync, and no longer a connection of the class stream.
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 1 && !ConnectionsOf(alice.Session).Contains(bob.Connection), TimeSpan.FromMilliseconds(10));

        await _streams[editors].WriteRecordAsync(Topic, "create", "after-the-death");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
    }

    [Fact]
    public async Task MemberDeletionAnnouncedByRelaysHook_LeavesTheClassStreamBeforePocketBasesOwnDelete()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();
        var watch = Watch();
        Assert.True(_holders.ContainsKey(Relay.SharedStreams.AuthRecordWatch.DeathsTopic + "@" + watch), "the superuser's watch holds the hook's topic");

        // The hook's notice (PocketBase 0.23+ sends its own delete only after the updates the deletion makes).
        _dead["bob"] = true;
        await _streams[watch].WriteAsync(Relay.SharedStreams.AuthRecordWatch.DeathsTopic, """{"action":"delete","record":{"id":"bob","collectionId":"_pb_users_auth_","collectionName":"users"}}""");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 1 && !ConnectionsOf(alice.Session).Contains(bob.Connection), TimeSpan.FromMilliseconds(10));

        // An update the deletion made, then PocketBase's own delete: bob gets neither, alice the update.
        await _streams[editors].WriteRecordAsync(Topic, "update", "cleared-by-the-deletion");
        await _streams[watch].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"delete","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
    }

    [Fact]
    public async Task WatchGap_MembersReadInOneSuperuserList_UnchangedKeptWithoutACall_GoneDismissed_SavedSinceRefreshed()
    {
        await ReadRulesAsync();
        foreach (var id in new[] { "alice", "bob", "carol", "dave" })
        {
            _schema.Users[id] = Saved;
        }

        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        var carol = await JoinAsync("carol", "editor");
        var dave = await JoinAsync("dave", "viewer");
        var editors = Holder(alice.Session).ClientId;
        var watch = Watch();
        _refreshes.Clear();

        // While the watch is away: carol is deleted, bob's record is saved (a password change: his token dies).
        _schema.Users.TryRemove("carol", out _);
        _schema.Users["bob"] = "2026-12-07 11:00:00.000Z";
        _dead["bob"] = true;
        _streams[watch].Close();
        await _harness.AdvanceUntilAsync(
            () => carol.Connection.QueuedCount == 1 && bob.Connection.QueuedCount == 1 && !ConnectionsOf(alice.Session).Contains(carol.Connection) && !ConnectionsOf(alice.Session).Contains(bob.Connection),
            TimeSpan.FromMilliseconds(50));

        // One list for the four members; the one saved since is asked with its own token, nobody else is.
        Assert.Equal(1, _schema.RecordLists);
        Assert.Equal(["bob"], _refreshes.Keys);
        await _streams[editors].WriteRecordAsync(Topic, "create", "after-the-gap");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
        Assert.Equal(1, carol.Connection.QueuedCount);
        Assert.Equal(0, dave.Connection.QueuedCount);
    }

    [Fact]
    public async Task MembersJoining_TheSuperusersWatchIsPostedOnce_NotOncePerMember()
    {
        await ReadRulesAsync();
        await JoinAsync("alice", "editor");
        var watch = Watch();
        await JoinAsync("bob", "editor");
        await JoinAsync("carol", "viewer");
        await SessionHarness.SettleAsync();

        Collect();
        Assert.Single(_postedTo, clientId => clientId == watch);
    }

    [Fact]
    public async Task MemberRevoked_UpdateSeenOnTheSuperusersWatch_RefreshRefused_LeavesTheClassStream()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();

        // A password change: the record's update carries nothing the rule reads; only bob's own token tells.
        _dead["bob"] = true;
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 1 && !ConnectionsOf(alice.Session).Contains(bob.Connection), TimeSpan.FromMilliseconds(10));

        await _streams[editors].WriteRecordAsync(Topic, "create", "after-the-revocation");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
    }

    [Fact]
    public async Task MemberUpdated_RefreshAccepted_StaysInItsClass()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();

        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        await SessionHarness.SettleAsync();
        Assert.Contains(bob.Connection, ConnectionsOf(alice.Session));

        await _streams[editors].WriteRecordAsync(Topic, "create", "still-an-editor");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1 && bob.Connection.QueuedCount >= 1, TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public async Task MemberUpdated_PocketBaseGivesNoVerdict_StaysFencedInItsClass_AskedAgain_NotMovedToAStreamOfItsOwn()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();

        // PocketBase answers bob's auth-refresh 503 (restarting, overloaded): no verdict on his token.
        _unavailable["bob"] = true;
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"update","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        await _harness.AdvanceUntilAsync(() => Volatile.Read(ref _unavailableAnswers) >= 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();

        // Before: dismissed, with a PocketBase stream of its own until its next subscription (after a PocketBase restart,
        // every member at once). Now it stays a class connection, fenced: the class's events skip it.
        Assert.Contains(bob.Connection, ConnectionsOf(alice.Session));
        Assert.Equal(0, _harness.Manager.Find(Key("bob"))!.TopicCount);
        await _streams[editors].WriteRecordAsync(Topic, "create", "while-unverified");
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(0, bob.Connection.QueuedCount);

        // PocketBase answers again: bob is asked again within 10 s, verified, and the fence lifted with a Resync (it held
        // an event back); the class's next event reaches him.
        _unavailable.Clear();
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(100), limit: TimeSpan.FromSeconds(11));
        await _streams[editors].WriteRecordAsync(Topic, "create", "verified");
        await _harness.AdvanceUntilAsync(() => bob.Connection.QueuedCount == 2, TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public async Task EventReadBeforeTheDeletion_StillHeld_DoesNotReachTheDeletedMember()
    {
        var (alice, bob, editors) = await TwoEditorsAsync();

        // PocketBase sends what it updates inside a deletion (a relation to bob cleared) before the deletion itself.
        await _streams[editors].WriteRecordAsync(Topic, "update", "relation-cleared");
        await SessionHarness.SettleAsync();
        Assert.Equal(0, alice.Connection.QueuedCount);
        _dead["bob"] = true;
        await _streams[Watch()].WriteAsync($"{SessionHarness.UsersCollection}/*", """{"action":"delete","record":{"id":"bob","collectionId":"_pb_users_auth_","name":"editor"}}""");
        await SessionHarness.SettleAsync();

        // The hold ends: alice gets the update; bob only the Resync of its move to its own stream.
        await _harness.AdvanceUntilAsync(() => alice.Connection.QueuedCount == 1 && bob.Connection.QueuedCount == 1, TimeSpan.FromMilliseconds(10));
        await SessionHarness.SettleAsync();
        Assert.Equal(1, bob.Connection.QueuedCount);
    }

    /// <summary>The stream the superuser's watch of the users collection is held on.</summary>
    /// <summary>The rules read, alice and bob joined as editors (alice holds their class stream, whose client id is returned).</summary>
    private async Task<((RelayConnection Connection, UserSession Session) Alice, (RelayConnection Connection, UserSession Session) Bob, string Editors)> TwoEditorsAsync()
    {
        await ReadRulesAsync();
        var alice = await JoinAsync("alice", "editor");
        var bob = await JoinAsync("bob", "editor");
        return (alice, bob, Holder(alice.Session).ClientId);
    }

    private string Watch()
    {
        Collect();
        return _holders.Where(pair => pair.Key.StartsWith($"{SessionHarness.UsersCollection}/*@", StringComparison.Ordinal)).Select(pair => pair.Value.ClientId).Last();
    }
}
