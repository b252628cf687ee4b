using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Sessions;

namespace Relay.Tests.Sessions;

/// <summary>Linger and token refresh rules, proven on a fake clock instead of real minutes.</summary>
public class SessionManagerTests
{
    private static readonly SessionKey Alice = new(SessionHarness.UsersCollection, "alice");

    [Fact]
    public async Task Detach_SessionLingersThenCloses()
    {
        await using var harness = new SessionHarness(linger: TimeSpan.FromSeconds(15));
        var connection = harness.NewConnection();
        harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        harness.Manager.Detach(connection);

        harness.Time.Advance(TimeSpan.FromSeconds(14));
        await SessionHarness.SettleAsync();
        Assert.NotNull(harness.Manager.Find(SessionKey.Guest));

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await harness.AdvanceUntilAsync(() => harness.Manager.Find(SessionKey.Guest) is null, TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, harness.Manager.Count);
    }

    [Fact]
    public async Task ReattachWithinLinger_KeepsSession_EvenWhenTheOldLingerFiresLater()
    {
        await using var harness = new SessionHarness(linger: TimeSpan.FromSeconds(15));
        var first = harness.NewConnection();
        var session = harness.Manager.Attach(first, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        harness.Manager.Detach(first);
        harness.Time.Advance(TimeSpan.FromSeconds(10));

        var second = harness.NewConnection();
        Assert.Same(session, harness.Manager.Attach(second, SessionKey.Guest, null, DateTimeOffset.MaxValue));
        harness.Time.Advance(TimeSpan.FromMinutes(5));
        await SessionHarness.SettleAsync();
        Assert.Same(session, harness.Manager.Find(SessionKey.Guest));

        // A second linger starts its own full period.
        harness.Manager.Detach(second);
        harness.Time.Advance(TimeSpan.FromSeconds(14));
        await SessionHarness.SettleAsync();
        Assert.Same(session, harness.Manager.Find(SessionKey.Guest));
        await harness.AdvanceUntilAsync(() => harness.Manager.Find(SessionKey.Guest) is null, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Refresh_BeforeExpiry_UsesTheFreshTokenAndSchedulesTheNext()
    {
        await using var harness = new SessionHarness();
        harness.PocketBase.AuthRefresh = _ => harness.Refreshed("alice", TimeSpan.FromMinutes(30));
        var token = SessionHarness.Token("alice", harness.Time.GetUtcNow() + TimeSpan.FromMinutes(30));
        var session = harness.Manager.Attach(harness.NewConnection(), Alice, token, harness.Time.GetUtcNow() + TimeSpan.FromMinutes(30));

        // Revalidated every 5 minutes (RevalidateInterval), each time with a fresh token.
        await harness.AdvanceUntilAsync(() => harness.RefreshCalls >= 1, TimeSpan.FromSeconds(30), limit: TimeSpan.FromMinutes(5));
        await harness.AdvanceUntilAsync(() => session.Token != token, TimeSpan.FromMilliseconds(100));
        await harness.AdvanceUntilAsync(() => harness.RefreshCalls >= 2, TimeSpan.FromSeconds(30), limit: TimeSpan.FromMinutes(5));
        Assert.Same(session, harness.Manager.Find(Alice));
    }

    [Fact]
    public async Task Revalidation_TokenRevoked_EndsTheSession()
    {
        await using var harness = new SessionHarness();
        harness.PocketBase.AuthRefresh = _ => harness.Refused();
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromDays(14);
        harness.Manager.Attach(harness.NewConnection(), Alice, SessionHarness.Token("alice", expiresAt), expiresAt);

        await harness.AdvanceUntilAsync(() => harness.Manager.Find(Alice) is null, TimeSpan.FromSeconds(30), limit: TimeSpan.FromMinutes(6));
    }

    [Fact]
    public async Task Refresh_ReturnsTheSameToken_CheckedAtTheIntervalNotEverCloserToItsExp_EndsAtExp()
    {
        // PocketBase 0.30+ answers auth-refresh of a non-refreshable (impersonation) token with that very token.
        await using var harness = new SessionHarness();
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromHours(1);
        var token = SessionHarness.Token("alice", expiresAt);
        harness.PocketBase.AuthRefresh = authorization =>
        {
            Interlocked.Increment(ref harness.RefreshCalls);
            return SessionHarness.Json(System.Net.HttpStatusCode.OK, $$$"""{"token":"{{{authorization}}}","record":{"id":"alice","collectionId":"{{{SessionHarness.UsersCollection}}}","collectionName":"users"}}""");
        };
        harness.Manager.Attach(harness.NewConnection(), Alice, token, expiresAt);

        await harness.AdvanceUntilAsync(() => harness.Manager.Find(Alice) is null, TimeSpan.FromSeconds(10), limit: TimeSpan.FromHours(1) + TimeSpan.FromSeconds(20));

        // One check per RevalidateInterval (5 min) over the hour; before, each refresh was scheduled at half the
        // remaining life once less than 10 minutes were left, ever closer to the exp.
        Assert.InRange(harness.RefreshCalls, 10, 12);
    }

    [Fact]
    public async Task Refresh_SameToken_TimersFiringAHairEarly_EndsAtItsExpAsExpiredWithoutCallsPiledUpAtIt()
    {
        // PocketBase 0.30+ answers auth-refresh of a non-refreshable token with that very token until its exp. The
        // last re-check was due at the exp itself; a timer firing a hair early got the same token back, and the next
        // check, due at once, did the same (5 calls instead of 4 in the live test on 0.40.4).
        await using var harness = new SessionHarness(timersEarly: TimeSpan.FromMilliseconds(1));
        using var expired = new MetricCollector<long>(harness.MeterFactory, Relay.Diagnostics.RelayMetrics.MeterName, "relay.auth.expired");
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromMinutes(10);
        var calls = 0;
        harness.PocketBase.AuthRefresh = authorization =>
        {
            Interlocked.Increment(ref calls);
            return harness.Time.GetUtcNow() < expiresAt
                ? SessionHarness.Json(System.Net.HttpStatusCode.OK, $$$"""{"token":"{{{authorization}}}","record":{"id":"alice","collectionId":"{{{SessionHarness.UsersCollection}}}","collectionName":"users"}}""")
                : harness.Refused();
        };
        harness.Manager.Attach(harness.NewConnection(), Alice, SessionHarness.Token("alice", expiresAt), expiresAt);

        harness.Time.Advance(TimeSpan.FromMinutes(5));
        await harness.AdvanceUntilAsync(() => Volatile.Read(ref calls) >= 1, TimeSpan.FromMilliseconds(1), limit: TimeSpan.FromSeconds(1));
        harness.Time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(20));
        await harness.AdvanceUntilAsync(() => harness.Manager.Find(Alice) is null, TimeSpan.FromMilliseconds(1), limit: TimeSpan.FromSeconds(1));

        // The check at half its life, and the last one early enough to be answered "valid" at most; never a run of them.
        Assert.InRange(Volatile.Read(ref calls), 1, 2);
        var ended = Assert.Single(expired.GetMeasurementSnapshot());
        Assert.Equal(Relay.Client.Protocol.AuthExpiredReasons.TokenExpired, ended.Tags["reason"]);
    }

    [Theory]
    [InlineData("malformed")]
    [InlineData("io")]
    public async Task Refresh_FailsWithoutAVerdict_IsRetriedNotDropped(string failure)
    {
        await using var harness = new SessionHarness();
        var calls = 0;
        harness.PocketBase.AuthRefresh = _ => Interlocked.Increment(ref calls) switch
        {
            1 when failure == "malformed" => harness.Malformed(),
            1 => throw new HttpRequestException("connection reset"),
            _ => harness.Refreshed("alice", TimeSpan.FromDays(14)),
        };
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromDays(14);
        var token = SessionHarness.Token("alice", expiresAt);
        var session = harness.Manager.Attach(harness.NewConnection(), Alice, token, expiresAt);

        await harness.AdvanceUntilAsync(() => Volatile.Read(ref calls) >= 1, TimeSpan.FromSeconds(30), limit: TimeSpan.FromMinutes(5));
        // The failed attempt is retried within seconds, not at the next revalidation (and certainly not never).
        await harness.AdvanceUntilAsync(() => session.Token != token, TimeSpan.FromSeconds(1), limit: SessionManager.RetryWhenUnavailable + TimeSpan.FromSeconds(2));
        Assert.Same(session, harness.Manager.Find(Alice));
    }

    [Fact]
    public async Task RefreshRacingWithANewToken_RefusalOfTheOldTokenDoesNotEndTheSession()
    {
        await using var harness = new SessionHarness();
        var expiresAt = harness.Time.GetUtcNow() + TimeSpan.FromDays(14);
        var oldToken = SessionHarness.Token("alice", expiresAt);
        var newToken = SessionHarness.Token("alice", expiresAt + TimeSpan.FromMinutes(1), salt: "new");
        var inFlight = new TaskCompletionSource();
        var release = new TaskCompletionSource<HttpResponseMessage>();
        harness.PocketBase.AuthRefresh = authorization =>
        {
            if (authorization == oldToken)
            {
                // The old token's check is in flight while the new token arrives; PocketBase then refuses the old one
                // (the password changed, which is why the client fetched a new token).
                inFlight.TrySetResult();
                return release.Task.GetAwaiter().GetResult();
            }

            return harness.Refreshed("alice", TimeSpan.FromDays(15));
        };
        var session = harness.Manager.Attach(harness.NewConnection(), Alice, oldToken, expiresAt);

        var refresh = Task.Run(() => harness.Manager.RefreshAsync(session));
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(15));
        session.UseToken(newToken, expiresAt + TimeSpan.FromMinutes(1));
        release.SetResult(harness.Refused());
        await refresh.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Same(session, harness.Manager.Find(Alice));
        // The token in use is checked at once instead, and it is good.
        await harness.AdvanceUntilAsync(() => session.Token != newToken, TimeSpan.FromMilliseconds(100));
        Assert.Same(session, harness.Manager.Find(Alice));
    }
}
