namespace Relay.Sessions;

/// <summary>
/// The timers that decide a session's life: its linger after the last connection left and its token refresh. Owned by
/// <see cref="SessionManager"/> and touched only under its lock (the session itself never sees them).
/// </summary>
internal sealed class SessionTimers(UserSession session)
{
    public UserSession Session { get; } = session;

    /// <summary>The pending close after the last connection left.</summary>
    public ITimer? Linger { get; set; }

    /// <summary>Counts lingers, so a cancelled linger's late callback is recognised.</summary>
    public long LingerGeneration { get; set; }

    /// <summary>The next token refresh (user sessions only).</summary>
    public ITimer? Refresh { get; set; }

    public void Dispose()
    {
        Linger?.Dispose();
        Linger = null;
        Refresh?.Dispose();
        Refresh = null;
    }
}
