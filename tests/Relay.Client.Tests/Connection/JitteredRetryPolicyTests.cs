using Microsoft.AspNetCore.SignalR.Client;

namespace Relay.Client.Tests.Connection;

public class JitteredRetryPolicyTests
{
    private static TimeSpan? Delay(JitteredRetryPolicy policy, long attempt)
        => policy.NextRetryDelay(new RetryContext { PreviousRetryCount = attempt, ElapsedTime = TimeSpan.FromHours(attempt), RetryReason = new IOException() });

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void NextRetryDelay_GrowsExponentiallyWithinJitterBoundsAndCaps(double random)
    {
        var policy = new JitteredRetryPolicy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), () => random);

        var delays = Enumerable.Range(0, 12).Select(i => Delay(policy, i)!.Value.TotalMilliseconds).ToArray();

        // Ceiling doubles from 200 ms to the 10 s cap; the delay is between half the ceiling and the ceiling.
        var ceilings = new double[] { 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000, 10000, 10000, 10000 };
        for (var i = 0; i < delays.Length; i++)
        {
            Assert.Equal(random == 0 ? ceilings[i] / 2 : ceilings[i], delays[i], precision: 3);
        }
    }

    [Fact]
    public void NextRetryDelay_NeverGivesUp()
    {
        var policy = new JitteredRetryPolicy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

        Assert.NotNull(Delay(policy, 1_000_000));
        Assert.InRange(Delay(policy, 1_000_000)!.Value, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
    }
}
