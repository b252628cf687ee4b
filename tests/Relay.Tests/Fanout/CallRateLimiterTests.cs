using Microsoft.Extensions.Time.Testing;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public class CallRateLimiterTests
{
    [Fact]
    public void TryAcquire_BurstOfTheLimit_AllowedThenRefused()
    {
        var time = new FakeTimeProvider();
        var limiter = new CallRateLimiter(20, time);

        Assert.All(Enumerable.Range(0, 20), _ => Assert.True(limiter.TryAcquire()));
        Assert.False(limiter.TryAcquire());
    }

    [Fact]
    public void TryAcquire_AfterBurst_RefillsOneTokenPerInterval()
    {
        var time = new FakeTimeProvider();
        var limiter = new CallRateLimiter(20, time);
        for (var i = 0; i < 20; i++)
        {
            limiter.TryAcquire();
        }

        time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(limiter.TryAcquire());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.TryAcquire());
        Assert.False(limiter.TryAcquire());
    }

    [Fact]
    public void TryAcquire_IdleLongerThanAPeriod_RefillsOnlyToTheLimit()
    {
        var time = new FakeTimeProvider();
        var limiter = new CallRateLimiter(5, time);

        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(5, Enumerable.Range(0, 50).Count(_ => limiter.TryAcquire()));
    }

    [Fact]
    public void TryAcquire_SteadyAtTheLimit_NeverRefused()
    {
        var time = new FakeTimeProvider();
        var limiter = new CallRateLimiter(10, time);

        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryAcquire());
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    [Fact]
    public async Task TryAcquire_Concurrent_NeverGrantsMoreThanTheLimit()
    {
        var time = new FakeTimeProvider();
        var limiter = new CallRateLimiter(1000, time);
        var granted = 0;

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (limiter.TryAcquire())
                {
                    Interlocked.Increment(ref granted);
                }
            }
        }))).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1000, granted);
    }
}
