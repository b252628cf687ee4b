using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Relay.Bff;

namespace Relay.Tests.Bff;

public class BffLoginLimiterTests
{
    [Fact]
    public void TryAcquire_IPv6AddressesOfOneSlash64_ShareOneBudget()
    {
        // One subscriber is routinely given a whole /64: a fresh address per attempt must not mean a fresh budget.
        using var limiter = Create(attemptsPerMinute: 2);

        Assert.True(limiter.TryAcquire(From("2001:db8:1:2::1")));
        Assert.True(limiter.TryAcquire(From("2001:db8:1:2::2")));
        Assert.False(limiter.TryAcquire(From("2001:db8:1:2:abcd:ef01:2345:6789")));
        Assert.False(limiter.TryAcquire(From("2001:db8:1:2::1")));
    }

    [Fact]
    public void TryAcquire_AnotherSlash64OrIPv4Address_HasItsOwnBudget()
    {
        using var limiter = Create(attemptsPerMinute: 1);

        Assert.True(limiter.TryAcquire(From("2001:db8:1:2::1")));
        Assert.False(limiter.TryAcquire(From("2001:db8:1:2::1")));
        Assert.True(limiter.TryAcquire(From("2001:db8:1:3::1")));
        Assert.True(limiter.TryAcquire(From("203.0.113.7")));
        Assert.True(limiter.TryAcquire(From("203.0.113.8")));
    }

    [Fact]
    public void TryAcquire_IPv4MappedToIPv6_CountsAsTheIPv4Address()
    {
        using var limiter = Create(attemptsPerMinute: 1);

        Assert.True(limiter.TryAcquire(From("203.0.113.7")));
        Assert.False(limiter.TryAcquire(From("::ffff:203.0.113.7")));
    }

    private static BffLoginLimiter Create(int attemptsPerMinute) => new(Options.Create(new BffOptions { LoginAttemptsPerMinute = attemptsPerMinute }));

    private static DefaultHttpContext From(string address)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        return context;
    }
}
