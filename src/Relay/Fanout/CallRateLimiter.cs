namespace Relay.Fanout;

/// <summary>
/// A token bucket of <c>callsPerSecond</c> tokens, refilled continuously at <c>callsPerSecond</c> per second, that is
/// replenished lazily when a call arrives instead of by a timer: one <see cref="long"/> per connection and no work at
/// all while the connection is idle (a <c>TokenBucketRateLimiter</c> with auto-replenishment runs one timer callback per
/// connection per period — 100,000 callbacks a second at 100,000 connections).
/// Implemented as the generic cell rate algorithm: <see cref="_theoreticalArrival"/> is the time at which the bucket
/// would be full again; a call is allowed when that time, plus one call's worth, is at most one period ahead of now.
/// </summary>
internal sealed class CallRateLimiter
{
    private readonly TimeProvider _timeProvider;
    private readonly long _interval;
    private readonly long _period;
    private long _theoreticalArrival = long.MinValue;

    public CallRateLimiter(int callsPerSecond, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(callsPerSecond, 1);
        _timeProvider = timeProvider;
        _period = timeProvider.TimestampFrequency;
        _interval = Math.Max(1, _period / callsPerSecond);
        // With an interval rounded down, callsPerSecond calls at once still fit in one period.
        _period = _interval * callsPerSecond;
    }

    /// <summary>Takes one token if there is one; never waits.</summary>
    public bool TryAcquire()
    {
        var now = _timeProvider.GetTimestamp();
        while (true)
        {
            var current = Volatile.Read(ref _theoreticalArrival);
            var next = Math.Max(current, now) + _interval;
            if (next - now > _period)
            {
                return false;
            }

            // Lock-free: hub calls of one connection are normally sequential, but nothing here relies on it.
            if (Interlocked.CompareExchange(ref _theoreticalArrival, next, current) == current)
            {
                return true;
            }
        }
    }
}
