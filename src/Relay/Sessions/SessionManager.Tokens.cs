using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// Keeps each user session's token alive: refreshed through PocketBase before it expires, and re-checked at
/// <see cref="Auth.AuthOptions.RevalidateInterval"/> so a revoked token (user deleted, password changed) cuts the user off.
/// </summary>
internal sealed partial class SessionManager
{
    private static readonly TimeSpan RetryWhenUnavailable = TimeSpan.FromSeconds(5);

    private void ScheduleRefresh(UserSession session, TimeSpan? delay = null)
    {
        var now = _timeProvider.GetUtcNow();
        var remaining = session.ExpiresAt - now;
        var refreshBefore = TimeSpan.FromTicks(Math.Min(_authOptions.RefreshBefore.Ticks, remaining.Ticks / 2));
        var due = delay ?? TimeSpan.FromTicks(Math.Clamp((remaining - refreshBefore).Ticks, 0, _authOptions.RevalidateInterval.Ticks));

        session.RefreshTimer?.Dispose();
        session.RefreshTimer = _timeProvider.CreateTimer(
            static state =>
            {
                var (manager, refreshing) = ((SessionManager, UserSession))state!;
                _ = manager.RefreshAsync(refreshing);
            },
            (this, session),
            due,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>One refresh of <paramref name="session"/>'s token; internal so tests can drive it directly.</summary>
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
        catch (UpstreamException ex)
        {
            Log.TokenRefreshUnavailable(_logger, session.Name, ex);
            lock (_gate)
            {
                if (IsLive(session))
                {
                    ScheduleRefresh(session, RetryWhenUnavailable);
                }
            }

            return;
        }

        if (verdict.Token is { } fresh && fresh.CollectionId == session.Key.CollectionId && fresh.RecordId == session.Key.RecordId)
        {
            session.UseToken(fresh.Token, fresh.ExpiresAt);
            _metrics.TokenRefreshed();
            Log.TokenRefreshed(_logger, session.Name, fresh.ExpiresAt);
            lock (_gate)
            {
                if (IsLive(session))
                {
                    ScheduleRefresh(session);
                }
            }

            return;
        }

        var reason = verdict.Reason == "expired" ? AuthExpiredReasons.TokenExpired : AuthExpiredReasons.TokenRevoked;
        await EndSessionAsync(session, reason);
    }

    /// <summary>Tells every connection of <paramref name="session"/> its auth expired, closes them and the PocketBase stream.</summary>
    private async Task EndSessionAsync(UserSession session, string reason)
    {
        lock (_gate)
        {
            if (!IsLive(session))
            {
                return;
            }

            _sessions.Remove(session.Key);
            _metrics.SessionClosed(session.Key.IsGuest);
        }

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
            return _sessions.TryGetValue(session.Key, out var current) && current == session;
        }
    }
}
