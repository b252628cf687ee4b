using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;

namespace Relay.Sessions;

/// <summary>
/// Keeps each user session's token alive: refreshed through PocketBase before it expires, and re-checked at
/// <see cref="Auth.AuthOptions.RevalidateInterval"/> so a revoked token (user deleted, password changed) cuts the user off.
/// </summary>
internal sealed partial class SessionManager
{
    internal static readonly TimeSpan RetryWhenUnavailable = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long after its exp the last re-check of a token PocketBase will not extend is due. Timers count whole
    /// milliseconds and may fire a hair before the wall clock reaches their due time; a check at the exp itself could be
    /// answered "still valid" and be followed by another at once, a call to PocketBase each, until the exp has passed.
    /// After the exp the token is refused without a call (<see cref="Auth.TokenVerifier.RefreshAsync"/>).
    /// </summary>
    internal static readonly TimeSpan PastExp = TimeSpan.FromMilliseconds(100);

    /// <summary>Schedules the next refresh of <paramref name="entry"/>'s token. Callers hold <see cref="_gate"/>.</summary>
    private void ScheduleRefresh(SessionTimers entry, TimeSpan? delay = null)
    {
        var session = entry.Session;
        var now = _timeProvider.GetUtcNow();
        var remaining = session.ExpiresAt - now;
        var refreshBefore = TimeSpan.FromTicks(Math.Min(_authOptions.RefreshBefore.Ticks, remaining.Ticks / 2));
        var due = delay ?? TimeSpan.FromTicks(Math.Clamp((remaining - refreshBefore).Ticks, 0, _authOptions.RevalidateInterval.Ticks));

        entry.Refresh?.Dispose();
        entry.Refresh = _timeProvider.CreateTimer(
            static state =>
            {
                var (manager, refreshing) = ((SessionManager, UserSession))state!;
                _ = manager.RefreshAsync(refreshing);
            },
            (this, session),
            due,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// One refresh of <paramref name="session"/>'s token; internal so tests can drive it directly. Never throws and
    /// never stops silently: every outcome ends the session or schedules the next refresh.
    /// </summary>
    internal async Task RefreshAsync(UserSession session)
    {
        if (session.Token is not { } token || !IsLive(session))
        {
            return;
        }

        Auth.TokenVerdict verdict;
        try
        {
            verdict = await _verifier.RefreshAsync(token);
        }
        catch (Exception ex)
        {
            // PocketBase unreachable, an I/O error, or an answer that is not what PocketBase documents (a malformed 200
            // body): the token is neither valid nor invalid. Try again soon rather than let the session run out.
            Log.TokenRefreshUnavailable(_logger, session.Name, ex);
            Reschedule(session, RetryWhenUnavailable);
            return;
        }

        if (verdict.Token is { } fresh && fresh.CollectionId == session.Key.CollectionId && fresh.RecordId == session.Key.RecordId)
        {
            var same = string.Equals(fresh.Token, token, StringComparison.Ordinal);
            session.UseToken(fresh.Token, fresh.ExpiresAt);
            _metrics.TokenRefreshed();
            Log.TokenRefreshed(_logger, session.Name, fresh.ExpiresAt);
            // A token PocketBase will not extend (0.30+ answers a non-refreshable impersonation token with itself):
            // refreshing it again before its exp would only come closer and closer to it, one call each time, until
            // PocketBase refused it and the session ended as "revoked". Re-check it at the usual interval, and end it
            // just after its exp as expired.
            Reschedule(session, !same ? null : TimeSpan.FromTicks(Math.Clamp((fresh.ExpiresAt + PastExp - _timeProvider.GetUtcNow()).Ticks, 0, _authOptions.RevalidateInterval.Ticks)));
            return;
        }

        if (session.Token is { } inUse && !string.Equals(inUse, token, StringComparison.Ordinal))
        {
            // A tab connected or Reauthenticate handed over another token while this one was being checked: the
            // refusal is about a token no longer in use. Check the one in use instead of ending the session.
            Log.TokenReplacedDuringRefresh(_logger, session.Name);
            Reschedule(session, TimeSpan.Zero);
            return;
        }

        // A refusal at the token's exp (PocketBase counts in whole seconds; a timer may fire a hair early) is its expiry,
        // not a revocation.
        var expired = verdict.Reason == "expired" || session.ExpiresAt <= _timeProvider.GetUtcNow() + TimeSpan.FromSeconds(1);
        var reason = expired ? AuthExpiredReasons.TokenExpired : AuthExpiredReasons.TokenRevoked;
        await EndSessionAsync(session, reason);
    }

    private void Reschedule(UserSession session, TimeSpan? delay)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(session.Key, out var entry) && entry.Session == session)
            {
                ScheduleRefresh(entry, delay);
            }
        }
    }

    /// <summary>Tells every connection of <paramref name="session"/> its auth expired, closes them and the PocketBase stream.</summary>
    private async Task EndSessionAsync(UserSession session, string reason)
    {
        lock (_gate)
        {
            if (!_sessions.TryGetValue(session.Key, out var entry) || entry.Session != session)
            {
                return;
            }

            _sessions.Remove(session.Key);
            entry.Dispose();
            _metrics.SessionClosed(session.Key.IsGuest);
        }

        _classStreams?.MemberClosed(session);

        _metrics.AuthExpired(reason);
        Log.AuthExpired(_logger, session.Name, reason);
        var message = new SerializedHubMessage(new InvocationMessage(nameof(IRelayClient.AuthExpired), [new AuthExpiredSignal { Reason = reason }]));
        await session.DisposeAsync();
        await Task.WhenAll(session.Connections.Select(connection => connection.CloseAfterFlushAsync(message)));
    }

    private bool IsLive(UserSession session)
    {
        lock (_gate)
        {
            return _sessions.TryGetValue(session.Key, out var current) && current.Session == session;
        }
    }
}
