using Microsoft.Extensions.Time.Testing;

namespace Relay.Tests.Sessions;

/// <summary>
/// The fake clock, with timers that fire <c>early</c> before they are due, on the thread pool: as
/// <see cref="System.Threading.Timer"/> can, which counts whole milliseconds against a tick that is not the wall clock.
/// Only <see cref="CreateTimer"/>'s due time is moved; a later <see cref="ITimer.Change"/> is not.
/// </summary>
internal sealed class EarlyTimers(FakeTimeProvider time, TimeSpan early) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => time.GetUtcNow();

    public override long GetTimestamp() => time.GetTimestamp();

    public override long TimestampFrequency => time.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => time.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        => time.CreateTimer(
            queued => ThreadPool.QueueUserWorkItem(static pair => pair.Callback(pair.State), (Callback: callback, State: queued), preferLocal: false),
            state,
            dueTime == Timeout.InfiniteTimeSpan ? dueTime : dueTime > early ? dueTime - early : TimeSpan.Zero,
            period);
}
