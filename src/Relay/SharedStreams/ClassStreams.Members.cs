using Relay.Client.Protocol;
using Relay.Fanout;
using Relay.Routing;
using Relay.Sessions;
using Relay.Upstream;

namespace Relay.SharedStreams;

internal sealed partial class ClassStreams
{
    /// <summary>
    /// Makes sure <paramref name="member"/>'s own auth record is known and watched: first the watch of
    /// <c>COLLECTION_ID/RECORD_ID</c> on the member's own stream (so no change after the read below goes unseen), then
    /// one uncached <c>auth-refresh</c> for the record as PocketBase has it now. Once per member session.
    /// </summary>
    /// <returns>Whether the record is known (false: the member's topics stay per user).</returns>
    private async Task<bool> EnsureMemberAsync(UserSession member, CancellationToken cancellationToken)
    {
        ClassMember? state;
        Task<bool> ready;
        lock (_gate)
        {
            if (!_members.TryGetValue(member, out state))
            {
                state = new ClassMember(member);
                _members[member] = state;
                state.Ready = InitMemberAsync(state);
            }

            ready = state.Ready!;
        }

        var known = await ready.WaitAsync(cancellationToken);
        lock (_gate)
        {
            return known && state.Record is not null && _members.TryGetValue(member, out var current) && current == state;
        }
    }

    private async Task<bool> InitMemberAsync(ClassMember state)
    {
        await Task.Yield();
        var member = state.Session;
        // A fence standing before this read belongs to a death seen earlier; one set after it may be newer than this read.
        var (fenceBefore, holdsBefore) = FenceOf(member);
        try
        {
            member.UseSharedTopics(this);
            // First: no change of the record after the read below goes unseen (a deletion, a revocation, a class change).
            await _authRecords.WatchAsync(member.Key.CollectionId, _subscribeTimeout);
            if (member.Token is not { } token)
            {
                return false;
            }

            long read;
            lock (_gate)
            {
                read = state.StartRead();
            }

            var verdict = await _verifier.RefreshAsync(token);
            if (verdict.Token is not { Record: { } record } fresh || fresh.CollectionId != member.Key.CollectionId || fresh.RecordId != member.Key.RecordId)
            {
                Forget(state);
                return false;
            }

            member.UseToken(fresh.Token, fresh.ExpiresAt);
            lock (_gate)
            {
                // A verification started after this read (a change seen meanwhile) may have answered first: it is newer.
                state.TakeRead(read, record);
            }

            if (fenceBefore is not null)
            {
                Unfence(member, fenceBefore, holdsBefore);
            }

            return true;
        }
        catch (Exception ex)
        {
            // Whatever failed (the watch refused, PocketBase unreachable, the session closing), the member is not known.
            Log.MemberUnknown(_logger, member.Name, ex.GetType().Name);
            Forget(state);
            return false;
        }
    }

    /// <summary>
    /// A holder's own record is watched on its own stream (the only members that keep one: a member that holds no class
    /// stream has none, so PocketBase serves one stream per class, not one per member). PocketBase evaluates a class
    /// stream under its holder's record as it is now, so a holder whose class changed must be taken off the stream the
    /// moment its record's event is read, without waiting for the superuser watch's verification. Under the lock.
    /// </summary>
    private void WatchHolder(UserSession holder)
    {
        if (_watchedHolders.Add(holder))
        {
            _ = WatchOwnRecordAsync(holder);
        }
    }

    private async Task WatchOwnRecordAsync(UserSession holder)
    {
        try
        {
            await holder.WatchAsync(OwnRecordTopic(holder), upstreamEvent => OnOwnRecord(holder, upstreamEvent), _subscribeTimeout, CancellationToken.None);
        }
        catch (Exception ex) when (ex is SubscriptionException or ObjectDisposedException)
        {
            // The superuser watch still sees every change of the record (a class change then waits for its verification).
            Log.HolderWatchFailed(_logger, holder.Name, ex is SubscriptionException refused ? refused.Code : "closed");
        }
    }

    /// <summary>Ends the watch of a member's own record once it holds no class stream (also once it was dismissed). Under the lock.</summary>
    private void UnwatchUnlessHolder(UserSession member)
    {
        if (!_watchedHolders.Contains(member) || _streams.Values.Any(stream => stream.Holder == member))
        {
            return;
        }

        _watchedHolders.Remove(member);
        member.Unwatch(OwnRecordTopic(member));
    }

    /// <summary>
    /// A member's record changed (or may have): a class stream still read under the token of a holder that left, and that
    /// <paramref name="changed"/> picks, stops delivering at once.
    /// </summary>
    private void SuspendIfDeparting(Func<UserSession, bool> changed)
    {
        lock (_gate)
        {
            foreach (var stream in _streams.Values)
            {
                if (stream.Departing is { } departing && changed(departing))
                {
                    stream.DepartingChanged = true;
                    stream.Session.Suspend();
                }
            }
        }
    }

    private static string OwnRecordTopic(UserSession member) => $"{member.Key.CollectionId}/{member.Key.RecordId}";

    /// <summary>Drops what is known of a member (it is read again on its next shared subscription).</summary>
    private void Forget(ClassMember state)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(state.Session, out var current) && current == state)
            {
                _members.Remove(state.Session);
            }
        }
    }

    /// <summary>
    /// An event of a holder's own auth record (null: one may have been missed). PocketBase reads every rule field but
    /// id, collectionId, collectionName, email, emailVisibility and verified from the database at each event, so the
    /// member's class changed the moment the record did: the member's shared topics move now (a holder's class stream
    /// is suspended until another member's token holds it).
    /// </summary>
    private void OnOwnRecord(UserSession member, UpstreamEvent? upstreamEvent)
    {
        SuspendIfDeparting(departing => departing == member);
        if (upstreamEvent is { Action: "delete" })
        {
            // The member is dead: fenced at once, so events read before its move (still held) do not reach it either.
            Dismiss(member, Fence(member));
            return;
        }

        lock (_gate)
        {
            if (!_members.TryGetValue(member, out var state))
            {
                return;
            }

            // The member's own stream is evaluated under its new record from now on: not comparable with its old class.
            StopShadows(state.Session);
            if (upstreamEvent is { Action: "update" } update)
            {
                // A read of its own: newer than any read started before it, older than any started after it.
                state.TakeRead(state.StartRead(), update.Record.Clone());
            }
            else
            {
                // Deleted, or a gap on the watch (the record may have changed unseen): per user until read again.
                state.Record = null;
                _members.Remove(state.Session);
            }
        }

        _ = MoveMemberAsync(member);
    }

    /// <summary>
    /// Moves each shared topic of <paramref name="member"/>'s connections whose class changed: off the old class stream
    /// first (no event of the old class after this), onto the new class's stream or the member's own, then a Resync of
    /// the moved topics to each connection (what changed meanwhile is refetched under the new rights).
    /// </summary>
    internal async Task MoveMemberAsync(UserSession member)
    {
        List<(RelayConnection Connection, ClassPlacement Placement, ClassStream? Target)> moves = [];
        List<Task> holderChanges = [];
        lock (_gate)
        {
            var known = _members.TryGetValue(member, out var state) && state.Record is not null;
            foreach (var (connection, placements) in _placements)
            {
                foreach (var placement in placements.Values)
                {
                    if (!placement.Stream.Connections.TryGetValue(connection, out var owner) || owner != member)
                    {
                        continue;
                    }

                    var ruleClass = _rules.ClassifyTopic(placement.Collection, placement.Wildcard, placement.Options);
                    var target = known && ruleClass.IsShared ? StreamFor(member, placement.Collection, placement.Wildcard, ruleClass) : null;
                    if (target != placement.Stream)
                    {
                        moves.Add((connection, placement, target));
                    }
                }
            }

            foreach (var (connection, placement, target) in moves)
            {
                if (placement.Stream.Holder == member && !placement.Stream.Closed)
                {
                    // PocketBase evaluates the stream under the holder's new record already: nothing more of it reaches
                    // the members until another member's token holds it.
                    placement.Stream.Session.Suspend();
                    PauseShadows(placement.Stream);
                }

                holderChanges.AddRange(Unplace(connection, placement.Request.Topic, except: null));
                if (target is not null && !target.Closed)
                {
                    if (target.Connections.TryAdd(connection, member))
                    {
                        target.Session.AddConnection(connection);
                    }

                    _owners[connection] = member;

                    if (!_placements.TryGetValue(connection, out var placements))
                    {
                        _placements[connection] = placements = new Dictionary<string, ClassPlacement>(StringComparer.Ordinal);
                    }

                    placements[placement.Request.Topic] = placement with { Stream = target };
                    PublishTopics(connection, placements);
                }
            }
        }

        if (moves.Count == 0)
        {
            return;
        }

        _metrics.Moved(moves.Count);
        Log.MemberMoved(_logger, member.Name, moves.Count);
        await Task.WhenAll(holderChanges);
        foreach (var byConnection in moves.GroupBy(static move => move.Connection))
        {
            foreach (var (connection, placement, target) in byConnection)
            {
                var session = target is { Closed: false } ? target.Session : member;
                try
                {
                    await session.SubscribeCheckedAsync(connection, placement.Request, since: null, int.MaxValue, _subscribeTimeout, CancellationToken.None);
                }
                catch (SubscriptionException ex)
                {
                    Log.MoveFailed(_logger, member.Name, ex.Code);
                }
            }

            byConnection.Key.EnqueueControl(RelayConnection.CreateResync([.. byConnection.Select(static move => move.Placement.Request.Topic)], ResyncReasons.UpstreamReconnected));
        }
    }

    /// <summary>
    /// After each read of the rules: when they changed (or went stale), every member's shared topics are classified
    /// again and move where they now belong. The rule's text is part of a class stream's key, so a changed rule never
    /// keeps serving members on a stream PocketBase now evaluates under another rule for its holder alone.
    /// </summary>
    private void OnRulesRead()
    {
        var generation = _rules.Generation;
        var stale = _rules.Current == CollectionRuleSet.Empty;
        UserSession[] members;
        lock (_gate)
        {
            if (generation == _rulesGeneration && !stale)
            {
                return;
            }

            _rulesGeneration = generation;
            members = [.. _streams.Values.SelectMany(static stream => stream.Connections.Values).Distinct()];
        }

        foreach (var member in members)
        {
            _ = MoveMemberAsync(member);
        }
    }

    /// <summary>
    /// <paramref name="leaving"/>, the holder of <paramref name="stream"/>, has no connection on it any more: the stream
    /// moves to another member's token (PocketBase refuses another user's token on an open stream). A holder that only
    /// left (not fenced, not moved: its stream was not suspended) is still a member of the class, so its stream is read
    /// until the new one is accepted, as in a rotation: no gap and no Resync for the members (before, every holder that
    /// left cost each member a Resync, and so a refetch each from PocketBase). Otherwise the stream is reopened, with a
    /// Resync.
    /// </summary>
    private async Task ChangeHolderAsync(ClassStream stream, UserSession leaving)
    {
        await stream.HolderChange.WaitAsync();
        try
        {
            string token;
            DateTimeOffset expiresAt;
            bool gapless;
            lock (_gate)
            {
                if (stream.Closed || stream.Holder != leaving)
                {
                    return;
                }

                var next = stream.Connections.Values.FirstOrDefault(member => member != leaving && member.Token is not null);
                if (next is null)
                {
                    return;
                }

                // Paused either way: a reopen drops events until its Resync re-arms the samples; a gapless change re-arms
                // them when done.
                PauseShadows(stream);
                // A holder moved to another class suspended the stream before leaving it: that is no gapless change,
                // and marking it departing would let the superuser watch's copy of the same change suspend the
                // stream again after its reopen.
                gapless = !_fences.ContainsKey(leaving) && !stream.Session.IsSuspended;
                leaving.TokenChanged -= stream.OnHolderToken;
                stream.Holder = next;
                next.TokenChanged += stream.OnHolderToken;
                WatchHolder(next);
                if (gapless)
                {
                    stream.Departing = leaving;
                    stream.DepartingChanged = false;
                }
                else
                {
                    UnwatchUnlessHolder(leaving);
                }

                token = next.Token!;
                expiresAt = next.ExpiresAt;
            }

            _metrics.HolderChanged(stream.Collection);
            Log.HolderChanged(_logger, stream.Collection);
            var withoutGap = await stream.Session.ChangeHolderAsync(token, expiresAt, _subscribeTimeout, gapless);
            if (!gapless)
            {
                return;
            }

            bool departingChanged;
            lock (_gate)
            {
                stream.Departing = null;
                departingChanged = stream.DepartingChanged;
                UnwatchUnlessHolder(leaving);
            }

            if (departingChanged)
            {
                // The old holder's record changed while its stream was still read: the session was suspended from the
                // moment the change was seen (also when that came after a failed gapless change had already reopened
                // it), so it is reopened once more, and what it dropped is answered with a Resync.
                await stream.Session.ChangeHolderAsync(token, expiresAt, _subscribeTimeout);
            }
            else if (withoutGap)
            {
                OnClassEvent(stream, null);
            }
        }
        finally
        {
            stream.HolderChange.Release();
        }
    }
}
