using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Auth;
using Relay.Bff;
using Relay.PocketBase;

namespace Relay.Tests.Bff;

public sealed class BffSessionsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeAuthRefresh _pocketBase = new();
    private readonly MemoryBffSessionStore _store;
    private readonly TestMetrics _metrics = new();

    public BffSessionsTests()
    {
        _store = new MemoryBffSessionStore(_time);
        _pocketBase.Now = _time.GetUtcNow;
    }

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task KeepAlive_CheckedRecentlyAndFarFromExpiry_NoCallToPocketBase()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromMinutes(4));

        var kept = await sessions.KeepAliveAsync(session).WaitAsync(Timeout);

        Assert.Same(session, kept);
        Assert.Equal(0, _pocketBase.Calls);
    }

    [Fact]
    public async Task KeepAlive_RevalidateIntervalPassed_RefreshesAndStoresTheFreshToken()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromMinutes(5));

        var kept = await sessions.KeepAliveAsync(session).WaitAsync(Timeout);

        Assert.Equal(1, _pocketBase.Calls);
        Assert.NotNull(kept);
        Assert.NotEqual(session.Token, kept.Token);
        Assert.Equal(_time.GetUtcNow(), kept.ValidatedAt);
        Assert.Equal(kept.Token, (await _store.GetAsync(session.Id, CancellationToken.None))!.Token);
    }

    [Fact]
    public async Task KeepAlive_NearTokenExpiry_RefreshesEvenWhenRecentlyChecked()
    {
        var sessions = Create(new AuthOptions { RevalidateInterval = TimeSpan.FromHours(1), RefreshBefore = TimeSpan.FromMinutes(5) });
        var session = await StoreAsync(tokenLife: TimeSpan.FromMinutes(30));
        _time.Advance(TimeSpan.FromMinutes(24));
        Assert.Same(session, await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Equal(0, _pocketBase.Calls);

        _time.Advance(TimeSpan.FromMinutes(1));
        var kept = await sessions.KeepAliveAsync(session).WaitAsync(Timeout);

        Assert.Equal(1, _pocketBase.Calls);
        Assert.True(kept!.TokenExpiresAt > session.TokenExpiresAt);
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task KeepAlive_PocketBaseRefusesTheToken_SessionEndsAndIsForgotten(HttpStatusCode status)
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _pocketBase.Respond = _ => Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent("""{"code":401,"message":"nope","data":{}}""") });
        _time.Advance(TimeSpan.FromMinutes(6));

        Assert.Null(await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Null(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task KeepAlive_AnotherUsersRecordComesBack_SessionEnds()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _pocketBase.Respond = _ =>
        {
            var response = _pocketBase.Fresh("x");
            response.Content = new StringContent(response.Content.ReadAsStringAsync().Result.Replace("\"id\":\"rec1\"", "\"id\":\"rec2\"", StringComparison.Ordinal));
            return Task.FromResult(response);
        };
        _time.Advance(TimeSpan.FromMinutes(6));

        Assert.Null(await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Null(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task KeepAlive_PocketBaseUnreachableWhileTokenValid_KeepsTheSession()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _pocketBase.Respond = _ => throw new HttpRequestException("connection refused");
        _time.Advance(TimeSpan.FromMinutes(6));

        Assert.Same(session, await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.NotNull(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.Conflict)]
    [InlineData(HttpStatusCode.BadGateway)]
    public async Task KeepAlive_PocketBaseAnswersSomethingOtherThanARefusal_KeepsTheSession(HttpStatusCode status)
    {
        // A rate limiter in front of PocketBase answers 429 for everyone behind Relay's one address: that must not
        // sign every user out.
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _pocketBase.Respond = _ => Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent("""{"code":429,"message":"Too Many Requests.","data":{}}""") });
        _time.Advance(TimeSpan.FromMinutes(6));

        Assert.Same(session, await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Equal(1, _pocketBase.Calls);
        Assert.NotNull(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task KeepAlive_429OnceTheTokenHasExpired_UnavailableNotEnded()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromMinutes(10));
        _pocketBase.Respond = _ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("""{"code":429,"message":"Too Many Requests.","data":{}}""") });
        _time.Advance(TimeSpan.FromMinutes(11));

        await Assert.ThrowsAsync<UpstreamException>(() => sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Equal(session, (await _store.GetAsync(session.Id, CancellationToken.None))!);
    }

    [Fact]
    public async Task KeepAlive_ManyCallsWhileRefreshing_OneCallToPocketBase()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pocketBase.Respond = async _ =>
        {
            await release.Task;
            return _pocketBase.Fresh("once");
        };
        _time.Advance(TimeSpan.FromMinutes(6));

        var calls = Enumerable.Range(0, 10).Select(_ => sessions.KeepAliveAsync(session)).ToList();
        release.SetResult();
        var results = await Task.WhenAll(calls).WaitAsync(Timeout);

        Assert.Equal(1, _pocketBase.Calls);
        Assert.Single(results.Select(r => r!.Token).Distinct());
    }

    [Fact]
    public async Task KeepAlive_DueAgainAfterARefresh_RefreshesAgain()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromMinutes(6));
        var first = await sessions.KeepAliveAsync(session).WaitAsync(Timeout);

        _time.Advance(TimeSpan.FromMinutes(6));
        var second = await sessions.KeepAliveAsync(first!).WaitAsync(Timeout);

        Assert.Equal(2, _pocketBase.Calls);
        Assert.NotEqual(first!.Token, second!.Token);
    }

    [Fact]
    public async Task KeepAlive_SignedOutWhileRefreshing_SessionStaysEnded()
    {
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pocketBase.Respond = async _ =>
        {
            asked.SetResult();
            await release.Task;
            return _pocketBase.Fresh("late");
        };
        _time.Advance(TimeSpan.FromMinutes(6));

        var refreshing = sessions.KeepAliveAsync(session);
        await asked.Task.WaitAsync(Timeout);
        await sessions.EndAsync(session.Id, context: null, reason: "signed out").WaitAsync(Timeout);
        release.SetResult();

        Assert.Null(await refreshing.WaitAsync(Timeout));
        Assert.Null(await _store.GetAsync(session.Id, CancellationToken.None));
        Assert.Empty(_store.All);
    }

    [Fact]
    public async Task MemoryStore_ReplaceAfterRemove_NothingWritten()
    {
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        await _store.RemoveAsync(BffSessionHash.Of(session.Id), CancellationToken.None);

        Assert.False(await _store.ReplaceAsync(session with { Token = "fresh" }, CancellationToken.None));
        Assert.Empty(_store.All);
    }

    [Fact]
    public async Task MemoryStore_ReplaceWhileStored_WritesOverWhateverIsStored()
    {
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        await _store.SetAsync(session with { Token = "newer" }, CancellationToken.None);

        Assert.True(await _store.ReplaceAsync(session with { Token = "newest" }, CancellationToken.None));
        Assert.Equal("newest", (await _store.GetAsync(session.Id, CancellationToken.None))!.Token);
    }

    [Fact]
    public async Task MemoryStore_ReplaceAfterExpiry_NothingWritten()
    {
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromHours(12));

        Assert.False(await _store.ReplaceAsync(session with { Token = "fresh" }, CancellationToken.None));
        Assert.Empty(_store.All);
    }

    [Fact]
    public async Task KeepAlive_RefreshAnswersWithASuperuser_SessionEnded()
    {
        // The same parser as the hub's verifier: a superuser's answer is refused wherever it comes from.
        var sessions = Create();
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _pocketBase.Respond = _ =>
        {
            var token = FakeAuthRefresh.Token("pbc_3142635823", _time.GetUtcNow() + TimeSpan.FromHours(1));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent($$$"""{"token":"{{{token}}}","record":{"id":"rec1","collectionId":"col1","collectionName":"_superusers"}}""", System.Text.Encoding.UTF8, "application/json"),
            });
        };
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Null(await sessions.KeepAliveAsync(session).WaitAsync(Timeout));
        Assert.Null(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task MemoryStore_TrimUser_EndsTheOldestBeyondTheCapOnlyForThatUser()
    {
        var sessions = new List<BffSession>();
        for (var i = 0; i < 4; i++)
        {
            sessions.Add(await StoreAsync(tokenLife: TimeSpan.FromHours(1)));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var now = _time.GetUtcNow();
        var other = new BffSession("sid-other", "col1", "users", "rec2", "t", now.AddHours(1), now.AddHours(-1), now.AddHours(11), "{}");
        await _store.SetAsync(other, CancellationToken.None);

        var ended = await _store.TrimUserAsync(sessions[^1], maxPerUser: 2, CancellationToken.None);

        Assert.Equal([BffSessionHash.Of(sessions[0].Id), BffSessionHash.Of(sessions[1].Id)], ended);
        Assert.Null(await _store.GetAsync(sessions[0].Id, CancellationToken.None));
        Assert.NotNull(await _store.GetAsync(sessions[2].Id, CancellationToken.None));
        Assert.NotNull(await _store.GetAsync(sessions[3].Id, CancellationToken.None));
        Assert.NotNull(await _store.GetAsync(other.Id, CancellationToken.None));
    }

    [Fact]
    public async Task MemoryStore_SessionPastItsLifetime_Gone()
    {
        var session = await StoreAsync(tokenLife: TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromHours(12));

        Assert.Null(await _store.GetAsync(session.Id, CancellationToken.None));
    }

    private BffSessions Create(AuthOptions? auth = null) => new(
        _store,
        new BffPocketBase(_pocketBase, NullLogger<BffPocketBase>.Instance),
        new BffHubConnections(() => _store, _time),
        Options.Create(new BffOptions()),
        Options.Create(auth ?? new AuthOptions()),
        new OptionsMonitor<CookieAuthenticationOptions>(new OptionsFactory<CookieAuthenticationOptions>([], []), [], new OptionsCache<CookieAuthenticationOptions>()),
        _metrics.Metrics,
        _time,
        NullLogger<BffSessions>.Instance);

    private async Task<BffSession> StoreAsync(TimeSpan tokenLife)
    {
        var now = _time.GetUtcNow();
        var session = new BffSession("sid-" + Guid.NewGuid().ToString("N"), "col1", "users", "rec1", FakeAuthRefresh.Token("col1", now + tokenLife), now + tokenLife, now, now + TimeSpan.FromHours(12), """{"id":"rec1"}""");
        await _store.SetAsync(session, CancellationToken.None);
        return session;
    }
}
