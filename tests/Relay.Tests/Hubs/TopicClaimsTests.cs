using Relay.Hubs;
using Relay.Sessions;

namespace Relay.Tests.Hubs;

/// <summary>Claims on topics a session is about to hold: paid once, shared by every subscribe of the topic until they are applied.</summary>
public sealed class TopicClaimsTests
{
    [Fact]
    public async Task Join_FirstPays_OthersJoinFree_ShareOneCheck_ClaimEndsWithItsLastHolder()
    {
        var claims = new TopicClaims();
        var paid = 0;
        var checks = 0;
        var release = new TaskCompletionSource();

        var first = claims.Join(SessionKey.Guest, "notes/*", () => paid++);
        var second = claims.Join(SessionKey.Guest, "notes/*", () => paid++);
        var otherSession = claims.Join(new SessionKey("users", "alice"), "notes/*", () => paid++);
        var one = first.CheckOnce(async () => { checks++; await release.Task; });
        var two = second.CheckOnce(async () => { checks++; await release.Task; });
        release.SetResult();
        await Task.WhenAll(one, two).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, paid);
        Assert.Equal(1, checks);
        // Holders share the claim object: each Join is left with one Dispose.
        Assert.Same(first, second);
        first.Dispose();
        Assert.Equal(2, claims.Count);
        second.Dispose();
        otherSession.Dispose();
        Assert.Equal(0, claims.Count);
        claims.Join(SessionKey.Guest, "notes/*", () => paid++).Dispose();
        Assert.Equal(3, paid);
    }

    [Fact]
    public void Join_PaymentRefused_NoClaimLeft_NextComerPaysAgain()
    {
        var claims = new TopicClaims();

        Assert.Throws<InvalidOperationException>(() => claims.Join(SessionKey.Guest, "notes/*", () => throw new InvalidOperationException("no budget")));
        Assert.Equal(0, claims.Count);
        var paid = false;
        using var claim = claims.Join(SessionKey.Guest, "notes/*", () => paid = true);
        Assert.True(paid);
    }
}
