using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Auth;
using Relay.PocketBase;

namespace Relay.Tests.Auth;

/// <summary>Token verification against current PocketBase's auth-refresh (0.23+), played in process.</summary>
public sealed class TokenVerifierTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly IPAddress Attacker = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Bystander = IPAddress.Parse("198.51.100.20");

    private readonly FakePocketBaseAuth _pocketBase = new();
    private readonly TestMetrics _metrics = new();
    private VerificationThrottle? _throttle;
    private TokenVerifier? _verifier;

    [Fact]
    public async Task VerifyAsync_UserToken_0_23_Accepted()
    {
        var verifier = Create();
        var token = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");

        var verdict = await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout);

        Assert.NotNull(verdict.Token);
        Assert.Equal("u1", verdict.Token.RecordId);
        Assert.Equal("users", verdict.Token.CollectionName);
    }

    [Fact]
    public async Task VerifyAsync_SuperuserToken_0_23_RefusedByCollectionName()
    {
        var verifier = Create();
        // PocketBase accepts the superuser's auth-refresh: only the collection name it returns tells them apart.
        var token = _pocketBase.Issue(FakePocketBaseAuth.SuperusersId, "_superusers", "admin1");

        var verdict = await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout);
        var refreshed = await verifier.RefreshAsync(token).WaitAsync(Timeout);

        Assert.Null(verdict.Token);
        Assert.Contains("superuser", verdict.Reason, StringComparison.Ordinal);
        Assert.Null(refreshed.Token);
    }

    [Fact]
    public async Task VerifyAsync_AuthCollectionWithSuperuserLikeId_Accepted()
    {
        var verifier = Create();
        // The id is not what identifies superusers: an ordinary collection may have any generated id.
        var token = _pocketBase.Issue("pbc_superusers_lookalike", "members", "m1");

        var verdict = await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout);

        Assert.NotNull(verdict.Token);
    }

    [Fact]
    public async Task VerifyAsync_ImpersonationTokenRefusedByPocketBase_Refused()
    {
        var verifier = Create();
        // 0.23-0.29 answer 403 to auth-refresh with a non-refreshable (impersonation) token.
        var token = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u2", status: HttpStatusCode.Forbidden);

        var verdict = await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout);

        Assert.Null(verdict.Token);
        Assert.Equal(1, _pocketBase.Calls);
    }

    [Theory]
    [InlineData("""{"typ":"JWT"}""", """{"collectionId":"_pb_users_auth_","exp":4000000000,"id":"u1","type":"auth"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"_pb_users_auth_","exp":4000000000,"type":"auth"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"_pb_users_auth_","exp":4000000000,"id":"u1"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"_pb_users_auth_","id":"u1","type":"auth"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"users-x","exp":4000000000,"id":"u1","type":"auth"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"users/../x","exp":4000000000,"id":"u1","type":"auth"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"collectionId":"_pb_users_auth_","exp":4000000000,"id":"u1","type":"file"}""")]
    [InlineData("""{"alg":"HS256"}""", """{"exp":4000000000,"id":"a1","type":"admin"}""")]
    public async Task VerifyAsync_NotWellFormed_RefusedWithoutCallingPocketBase(string header, string payload)
    {
        var verifier = Create();
        var token = JwtPayloadTests.Token(payload, header);

        var verdict = await verifier.VerifyAsync(token, Attacker, CancellationToken.None).WaitAsync(Timeout);

        Assert.Null(verdict.Token);
        Assert.Equal(0, _pocketBase.Calls);
    }

    [Fact]
    public async Task VerifyAsync_SameForgedTokenAgain_RefusalCached()
    {
        var verifier = Create();
        var forged = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1", known: false);

        for (var i = 0; i < 5; i++)
        {
            Assert.Null((await verifier.VerifyAsync(forged, Attacker, CancellationToken.None).WaitAsync(Timeout)).Token);
        }

        Assert.Equal(1, _pocketBase.Calls);
    }

    [Fact]
    public async Task VerifyAsync_RefusedTokensBeyondBurst_RateLimitedPerAddressWithoutCalls()
    {
        var verifier = Create(options => options.MaxFailedVerificationsPerIp = 3);

        for (var i = 0; i < 3; i++)
        {
            var forged = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", $"f{i}", known: false);
            Assert.Null((await verifier.VerifyAsync(forged, Attacker, CancellationToken.None).WaitAsync(Timeout)).Token);
        }

        var fourth = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "f3", known: false);
        var limited = await Assert.ThrowsAsync<VerificationRateLimitedException>(() => verifier.VerifyAsync(fourth, Attacker, CancellationToken.None).WaitAsync(Timeout));
        Assert.True(limited.RetryAfter > TimeSpan.Zero);
        Assert.Equal(3, _pocketBase.Calls);

        // Another address, and a session's own refresh (no address), are not affected.
        var valid = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");
        Assert.NotNull((await verifier.VerifyAsync(valid, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.NotNull((await verifier.RefreshAsync(valid).WaitAsync(Timeout)).Token);
    }

    [Fact]
    public async Task VerifyAsync_ValidTokensFromOneAddress_NeverRateLimited()
    {
        var verifier = Create(options => options.MaxFailedVerificationsPerIp = 2);

        for (var i = 0; i < 10; i++)
        {
            var token = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", $"u{i}");
            Assert.NotNull((await verifier.VerifyAsync(token, Attacker, CancellationToken.None).WaitAsync(Timeout)).Token);
        }
    }

    [Fact]
    public async Task VerifyAsync_BeyondConcurrencyLimit_WaitsThenBusy()
    {
        var time = new FakeTimeProvider();
        var verifier = Create(
            options =>
            {
                options.MaxConcurrentVerifications = 2;
                options.VerificationQueueLimit = 1;
                options.VerificationQueueTimeout = TimeSpan.FromSeconds(2);
            },
            time);
        _pocketBase.Hold();
        Task<Relay.Auth.TokenVerdict> Verify(string id) => verifier.VerifyAsync(_pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", id), Bystander, CancellationToken.None);

        var first = Verify("u1");
        var second = Verify("u2");
        var queued = Verify("u3");
        var overflow = await Assert.ThrowsAsync<UpstreamException>(() => Verify("u4").WaitAsync(Timeout));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, overflow.StatusCode);
        Assert.Equal(2, _pocketBase.InFlight);

        // The queued caller waits its VerificationQueueTimeout, then gives up without calling PocketBase.
        time.Advance(TimeSpan.FromSeconds(2));
        var timedOut = await Assert.ThrowsAsync<UpstreamException>(() => queued.WaitAsync(Timeout));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, timedOut.StatusCode);

        _pocketBase.Release();
        Assert.NotNull((await first.WaitAsync(Timeout)).Token);
        Assert.NotNull((await second.WaitAsync(Timeout)).Token);
        Assert.Equal(2, _pocketBase.MaxInFlight);
        Assert.Equal(2, _pocketBase.Calls);
    }

    [Fact]
    public async Task VerifyAsync_QueuedCallerGetsSlotWhenOneFrees()
    {
        var verifier = Create(options => options.MaxConcurrentVerifications = 1);
        _pocketBase.Hold();

        var first = verifier.VerifyAsync(_pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1"), Bystander, CancellationToken.None);
        var second = verifier.VerifyAsync(_pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u2"), Bystander, CancellationToken.None);
        Assert.Equal(1, _pocketBase.Calls);

        _pocketBase.Release();
        Assert.NotNull((await first.WaitAsync(Timeout)).Token);
        Assert.NotNull((await second.WaitAsync(Timeout)).Token);
        Assert.Equal(1, _pocketBase.MaxInFlight);
    }

    [Fact]
    public async Task VerifyUncachedAsync_TokenRevokedSinceCachedVerdict_Refused()
    {
        var verifier = Create();
        var token = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");
        Assert.NotNull((await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);

        _pocketBase.Revoke(token);

        Assert.NotNull((await verifier.VerifyAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.Null((await verifier.VerifyUncachedAsync(token, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
    }

    public void Dispose()
    {
        _verifier?.Dispose();
        _throttle?.Dispose();
        _metrics.Dispose();
        _pocketBase.Dispose();
    }

    [Fact]
    public async Task RefreshAsync_SessionTokenRefused_TheUsersTokensCachedAsValidAreAskedAgain_ForTheCacheDuration()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var verifier = Create(time: time);
        // The token a tab connected with (its verdict cached), and the one the session holds after a refresh.
        var connected = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");
        var held = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");
        var other = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u2");
        Assert.NotNull((await verifier.VerifyAsync(connected, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.NotNull((await verifier.VerifyAsync(other, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);

        // The password changes: PocketBase refuses every token of u1, and the session's refresh finds out.
        _pocketBase.Revoke(connected);
        _pocketBase.Revoke(held);
        Assert.Null((await verifier.RefreshAsync(held).WaitAsync(Timeout)).Token);

        var calls = _pocketBase.Calls;
        Assert.Null((await verifier.VerifyAsync(connected, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.Equal(calls + 1, _pocketBase.Calls);
        // Another user's cached verdict is untouched (no call).
        Assert.NotNull((await verifier.VerifyAsync(other, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.Equal(calls + 1, _pocketBase.Calls);

        // Once no verdict from before the refusal can be cached any more, u1's tokens are cached again as usual.
        time.Advance(new AuthOptions().VerificationCacheDuration);
        var fresh = _pocketBase.Issue(FakePocketBaseAuth.UsersId, "users", "u1");
        Assert.NotNull((await verifier.VerifyAsync(fresh, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.NotNull((await verifier.VerifyAsync(fresh, Bystander, CancellationToken.None).WaitAsync(Timeout)).Token);
        Assert.Equal(calls + 2, _pocketBase.Calls);
    }

    private TokenVerifier Create(Action<AuthOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new AuthOptions();
        configure?.Invoke(options);
        _throttle = new VerificationThrottle(Options.Create(options), time ?? TimeProvider.System);
        _verifier = new TokenVerifier(_pocketBase, Options.Create(options), _throttle, _metrics.Metrics, time ?? TimeProvider.System, NullLogger<TokenVerifier>.Instance);
        return _verifier;
    }
}
