using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Relay.Auth;
using Relay.Bff;
using Relay.Hubs;

namespace Relay.Tests.Hubs;

/// <summary>The record of which identity negotiated each hub connection, and how identities compare.</summary>
public sealed class HubConnectionIdentitiesTests
{
    [Fact]
    public void Identity_SessionUserAndGuest_EachOnlyItsOwn_ARefreshedTokenOfTheSameUserIsTheSame()
    {
        var session = HubIdentity.Of(Cookie("session-a"));
        var otherSession = HubIdentity.Of(Cookie("session-b"));
        var alice = HubIdentity.Of(Token("users", "alice", "token-1"));
        var aliceRefreshed = HubIdentity.Of(Token("users", "alice", "token-2"));
        var bob = HubIdentity.Of(Token("users", "bob", "token-3"));
        var guest = HubIdentity.Of(new DefaultHttpContext { User = new ClaimsPrincipal(PocketBaseIdentity.Guest()) });

        Assert.True(session.ByCookie);
        Assert.True(session.SameAs(HubIdentity.Of(Cookie("session-a"))));
        Assert.True(alice.SameAs(aliceRefreshed));
        Assert.False(session.SameAs(otherSession));
        Assert.False(alice.SameAs(bob));
        Assert.False(guest.SameAs(alice));
        Assert.False(guest.SameAs(session));
    }

    [Fact]
    public void Negotiated_NeverStarted_SweptAfterItsLifetime_OnTheNextNegotiate()
    {
        var time = new FakeTimeProvider();
        var identities = new HubConnectionIdentities(time);
        var guest = HubIdentity.Of(new DefaultHttpContext { User = new ClaimsPrincipal(PocketBaseIdentity.Guest()) });
        identities.Negotiated("token-1", "id-1", guest);

        time.Advance(HubConnectionIdentities.UnstartedLifetime);
        identities.Negotiated("token-2", "id-2", guest);
        Assert.True(identities.TryGet("token-1", out _));

        time.Advance(TimeSpan.FromSeconds(1));
        identities.Negotiated("token-3", "id-3", guest);
        Assert.False(identities.TryGet("token-1", out _));
        Assert.True(identities.TryGet("token-2", out var kept));
        Assert.True(kept.SameAs(guest));
        Assert.Equal(2, identities.Count);
    }

    private static DefaultHttpContext Cookie(string sessionId)
    {
        var context = Token("users", "someone", "session-token");
        context.Items[BffHubConnections.SessionIdKey] = sessionId;
        return context;
    }

    private static DefaultHttpContext Token(string collection, string record, string token) => new()
    {
        User = new ClaimsPrincipal(PocketBaseIdentity.ForRecord(new VerifiedToken(collection, collection, record, token, DateTimeOffset.MaxValue))),
    };
}
