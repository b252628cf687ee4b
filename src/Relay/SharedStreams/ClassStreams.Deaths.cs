using System.Collections.Concurrent;
using System.Text.Json;
using Relay.Auth;
using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>
/// Members whose token died: a deleted user, or a revoked token (a password change rotates the token key). PocketBase
/// unsets the member's own stream's auth first, so the member's watch of its own record never sees it; the class
/// stream, held with another member's token, still carries the class's events. <see cref="AuthRecordWatch"/> sees every
/// change of a member's record: a deletion takes the member off every class stream at once; an update fences the member
/// (class streams send it nothing) until its own token has been verified again, and then either moves it to its class
/// (alive) or per user (refused), where its own stream carries what PocketBase still sends that token.
/// </summary>
internal sealed partial class ClassStreams
{
    private readonly ConcurrentDictionary<UserSession, MemberFence> _fences = new();
    private readonly ConcurrentDictionary<RelayConnection, UserSession> _owners = new();
    private readonly Lock _fenceGate = new();
    private Predicate<RelayConnection>? _admits;

    // _fences.Count, published after every change under _fenceGate: a class event's send reads it once instead of
    // looking up each of thousands of recipients while nobody is fenced (nearly always).
    private int _fenceCount;

    /// <summary>The class sessions' send-time check: nothing goes to a fenced member's connections.</summary>
    private RelayConnection[] Admitted(RelayConnection[] recipients)
        => Volatile.Read(ref _fenceCount) == 0 ? recipients : Array.FindAll(recipients, _admits ??= Admits);

    private bool Admits(RelayConnection connection)
        => !_owners.TryGetValue(connection, out var member) || !_fences.TryGetValue(member, out var fence) || fence.Drop();

    private void FencesChanged() => Volatile.Write(ref _fenceCount, _fences.Count);

    /// <summary>A change of an auth record (null: the watch may have missed one, so every member is verified again).</summary>
    private void OnAuthRecordChange(AuthRecordChange? change)
    {
        UserSession[] members;
        lock (_gate)
        {
            // Members known, and any member still routed to a class stream (its record may have been forgotten since).
            var all = _members.Keys.Concat(_streams.Values.SelectMany(static stream => stream.Connections.Values)).Distinct();
            members = change is { } seen
                ? [.. all.Where(member => member.Key.CollectionId == seen.CollectionId && member.Key.RecordId == seen.RecordId)]
                : [.. all];
        }

        // By record, not by session: a holder that left may have closed its session since.
        SuspendIfDeparting(departing => change is not { } seen || (departing.Key.CollectionId == seen.CollectionId && departing.Key.RecordId == seen.RecordId));

        if (change is null)
        {
            // Fenced before anything else, as below; then read together rather than one auth-refresh each.
            _ = VerifyAfterGapAsync([.. members.Select(member => (member, Fence(member)))]);
            return;
        }

        foreach (var member in members)
        {
            // Fenced before anything else: every class event read from now on skips the member until it is verified.
            var fence = Fence(member);
            if (change is { Action: "delete" })
            {
                Dismiss(member, fence);
            }
            else
            {
                _ = VerifyAsync(member, fence);
            }
        }
    }

    /// <summary>
    /// After a gap on the superuser's watch (a deletion or a change may have been missed), every member is fenced; then
    /// each auth collection's members are read in superuser lists of 100 ids (<see cref="AuthRecordWatch.ReadUpdatedAsync"/>)
    /// instead of an <c>auth-refresh</c> each: a PocketBase restart cost one call per member, all at once, while every
    /// member stayed fenced (sent nothing) until its own answer came. A member whose record is gone is dismissed. One
    /// whose record's <c>updated</c> is the one its last read answered was not saved since (a class change and a password
    /// change both save the record), so its class and token stand and its fence lifts without a call. The others, and
    /// every member when the list fails, are verified one by one as after a change.
    /// </summary>
    private async Task VerifyAfterGapAsync(List<(UserSession Member, MemberFence Fence)> fenced)
    {
        foreach (var collection in fenced.GroupBy(static pair => pair.Member.Key.CollectionId))
        {
            int unchanged = 0, deleted = 0, asked = 0;
            IReadOnlyDictionary<string, string?>? current;
            try
            {
                current = await _authRecords.ReadUpdatedAsync(collection.Key, [.. collection.Select(static pair => pair.Member.Key.RecordId).Distinct(StringComparer.Ordinal)]);
            }
            catch (Exception ex)
            {
                // Never leave the members fenced for want of an answer: each is asked on its own, as before.
                Log.MembersNotReadAfterGap(_logger, collection.Key, ex.GetType().Name);
                current = null;
            }

            foreach (var (member, fence) in collection)
            {
                if (current is null)
                {
                    asked++;
                    _ = VerifyAsync(member, fence);
                }
                else if (!current.TryGetValue(member.Key.RecordId, out var updated))
                {
                    deleted++;
                    Dismiss(member, fence);
                }
                else if (updated is not null && updated == LastReadUpdated(member))
                {
                    unchanged++;
                    Lift(member, fence);
                }
                else
                {
                    asked++;
                    _ = VerifyAsync(member, fence);
                }
            }

            Log.MembersReadAfterGap(_logger, collection.Count(), current is null ? 0 : (collection.Count() + PocketBaseSchemaClient.RecordsPerList - 1) / PocketBaseSchemaClient.RecordsPerList, unchanged, deleted, asked);
        }
    }

    /// <summary>The <c>updated</c> of the record <paramref name="member"/>'s last read answered (null: none, or no such field).</summary>
    private string? LastReadUpdated(UserSession member)
    {
        lock (_gate)
        {
            return _members.TryGetValue(member, out var state) && state.Record is { } record
                && record.TryGetProperty("updated", out var updated) && updated.ValueKind == JsonValueKind.String
                ? updated.GetString()
                : null;
        }
    }

    /// <summary>Asks PocketBase with the member's own token whether it still lives, and takes the record it answers with.</summary>
    private async Task VerifyAsync(UserSession member, MemberFence fence)
    {
        try
        {
            ClassMember? state;
            long read = 0;
            lock (_gate)
            {
                if (_members.TryGetValue(member, out state))
                {
                    read = state.StartRead();
                }
            }

            if (member.Token is { } token
                && await _verifier.RefreshAsync(token) is { Token: { Record: { } record } fresh }
                && fresh.CollectionId == member.Key.CollectionId && fresh.RecordId == member.Key.RecordId)
            {
                member.UseToken(fresh.Token, fresh.ExpiresAt);
                lock (_gate)
                {
                    // Also while the member's first read is still out (no record yet): this read started after it.
                    if (state is not null && _members.TryGetValue(member, out var current) && current == state && state.TakeRead(read, record))
                    {
                        StopShadows(member);
                    }
                }

                // Topics whose class changed leave the old class stream before this returns (its first lock section);
                // those that stay get a Resync when the fence held an event back.
                var moving = MoveMemberAsync(member);
                Lift(member, fence);
                await moving;
                return;
            }
        }
        catch (Exception ex) when (ex is UpstreamException or VerificationRateLimitedException)
        {
            // No verdict: PocketBase is down or restarting, or the verifier's queue is full (a gap on the superuser's watch
            // verifies every member at once). The member stays fenced (class streams send it nothing) and is asked again.
            // Dismissed instead, every member would get a PocketBase stream of its own after a PocketBase restart, and
            // keep it until one of its connections subscribed again.
            Log.MemberCheckDeferred(_logger, member.Name, ex.GetType().Name);
            _ = VerifyLaterAsync(member, fence);
            return;
        }
        catch (Exception ex)
        {
            Log.MemberUnknown(_logger, member.Name, ex.GetType().Name);
        }

        // Refused (deleted, revoked, expired), or a failure of Relay's own: per user, where PocketBase decides.
        Dismiss(member, fence);
    }

    /// <summary>Asks PocketBase about <paramref name="member"/> again after a while (spread, so members fenced together are not asked together), while its fence stands.</summary>
    private async Task VerifyLaterAsync(UserSession member, MemberFence fence)
    {
        await Task.Delay(SessionManager.RetryWhenUnavailable + TimeSpan.FromMilliseconds(Random.Shared.Next(5_000)), _timeProvider);
        if (FenceOf(member).Fence == fence)
        {
            await VerifyAsync(member, fence);
        }
    }

    /// <summary>Takes the member off every class stream now (its own stream serves it, as in per-user mode).</summary>
    private void Dismiss(UserSession member, MemberFence fence)
    {
        lock (_fenceGate)
        {
            // Still (or again) the member's fence, even if a concurrent verification found it alive a moment ago.
            _fences[member] = fence;
            FencesChanged();
        }

        lock (_gate)
        {
            if (_members.Remove(member, out var state))
            {
                state.Record = null;
            }

            StopShadows(member);
        }

        Log.MemberDismissed(_logger, member.Name);
        // The fence's hold is never released: an event whose recipients were taken before the member left a class stream
        // is still checked at send time. It goes when the member is read again and found alive (a new sign-in), or its
        // session closes.
        _ = MoveMemberAsync(member);
    }

    private MemberFence Fence(UserSession member)
    {
        lock (_fenceGate)
        {
            var fence = _fences.GetOrAdd(member, static _ => new MemberFence());
            FencesChanged();
            fence.Holds++;
            return fence;
        }
    }

    private (MemberFence? Fence, int Holds) FenceOf(UserSession member)
    {
        lock (_fenceGate)
        {
            return _fences.TryGetValue(member, out var fence) ? (fence, fence.Holds) : (null, 0);
        }
    }

    /// <summary>
    /// Drops <paramref name="member"/>'s fence: its session closed (<paramref name="only"/> null), or it was read again and
    /// found alive after <paramref name="only"/> was seen with <paramref name="holds"/> holds (a change seen since then
    /// added a hold, and keeps it).
    /// </summary>
    private void Unfence(UserSession member, MemberFence? only = null, int holds = 0)
    {
        lock (_fenceGate)
        {
            if (_fences.TryGetValue(member, out var fence) && (only is null || (fence == only && fence.Holds == holds)))
            {
                _fences.TryRemove(member, out _);
                FencesChanged();
            }
        }
    }

    /// <summary>Releases one hold of a member found alive; once none is left, its shared topics get a Resync if an event was held back.</summary>
    private void Lift(UserSession member, MemberFence fence)
    {
        lock (_fenceGate)
        {
            if (--fence.Holds > 0)
            {
                return;
            }

            if (_fences.TryGetValue(member, out var current) && current == fence)
            {
                _fences.TryRemove(member, out _);
                FencesChanged();
            }
        }

        if (!fence.Dropped)
        {
            return;
        }

        List<(RelayConnection Connection, string[] Topics)> resyncs = [];
        lock (_gate)
        {
            foreach (var (connection, placements) in _placements)
            {
                string[] topics = [.. placements.Values
                    .Where(placement => placement.Stream.Connections.TryGetValue(connection, out var owner) && owner == member)
                    .Select(static placement => placement.Request.Topic)];
                if (topics.Length > 0)
                {
                    resyncs.Add((connection, topics));
                }
            }
        }

        foreach (var (connection, topics) in resyncs)
        {
            connection.EnqueueControl(RelayConnection.CreateResync(topics, ResyncReasons.UpstreamReconnected));
        }
    }
}
