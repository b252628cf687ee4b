using System.Net;
using Microsoft.Extensions.Options;
using Relay.ClientIp;

namespace Relay.Tests.ClientIp;

public sealed class GuestLimiterTests
{
    private static readonly IPAddress One = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Other = IPAddress.Parse("198.51.100.20");

    [Fact]
    public void AdmitConnection_BeyondMaxPerAddress_RefusedUntilOneLeaves()
    {
        using var limiter = new GuestLimiter(Options.Create(new GuestLimitOptions { MaxConnectionsPerIp = 2 }));

        var first = limiter.AdmitConnection(One);
        using var second = limiter.AdmitConnection(One);
        using var third = limiter.AdmitConnection(One);
        using var elsewhere = limiter.AdmitConnection(Other);

        Assert.True(first.IsAcquired && second.IsAcquired && elsewhere.IsAcquired);
        Assert.False(third.IsAcquired);
        first.Dispose();
        using var again = limiter.AdmitConnection(One);
        Assert.True(again.IsAcquired);
    }

    [Fact]
    public void TryAddTopic_BeyondBurstPerAddress_RefusedWithRetryAfter()
    {
        using var limiter = new GuestLimiter(Options.Create(new GuestLimitOptions { NewTopicsPerIpPerMinute = 5 }));

        for (var i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAddTopic(One, out _));
        }

        Assert.False(limiter.TryAddTopic(One, out var retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero);
        Assert.True(limiter.TryAddTopic(Other, out _));
    }
}
