using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.PocketBase;
using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

/// <summary>The cache around the rules: when it reads, how reads are shared and spaced, and when it stops trusting them.</summary>
public sealed class CollectionRulesTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly FakeSchemaPocketBase _pocketBase = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private CollectionRules? _rules;

    [Fact]
    public async Task ReadOnceAsync_WithoutCredentials_ReadsNothingSharesNothing()
    {
        var rules = Create(credentials: false);

        Assert.False(rules.CanRead);
        Assert.False(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));
        await rules.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(0, _pocketBase.SignIns + _pocketBase.Lists);
        Assert.Same(CollectionRuleSet.Empty, rules.Current);
    }

    [Fact]
    public async Task ReadOnceAsync_SharingOff_ReadsNothingEvenWithCredentials()
    {
        var rules = Create(enabled: false);

        Assert.False(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(0, _pocketBase.SignIns + _pocketBase.Lists);
    }

    [Fact]
    public async Task ReadOnceAsync_Credentials_ClassifiesEveryCollection()
    {
        var rules = Create();

        Assert.True(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.True(rules.Current.TryGet("posts", out var posts));
        Assert.Equal(new[] { "id" }, posts.ListClass.AuthFields);
        Assert.Equal(RuleClassKind.SuperusersOnly, posts.ViewClass.Kind);
        Assert.True(rules.Current.TryGet("_pb_users_auth_", out var users));
        Assert.True(users.IsAuth);
        Assert.Equal(1, rules.Generation);
    }

    [Fact]
    public async Task ReadOnceAsync_RuleChanged_NewGenerationUnchangedSameGeneration()
    {
        var rules = Create();
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(1, rules.Generation);

        _pocketBase.ListRule = "owner = @request.auth.id";
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(2, rules.Generation);
        Assert.True(rules.Current.TryGet("posts", out var posts));
        Assert.Equal(RuleClassKind.PerUser, posts.ListClass.Kind);
        Assert.Equal(1, _pocketBase.SignIns); // the token is reused
    }

    [Fact]
    public async Task ReadOnceAsync_TokenExpired_SignsInAgainOnce()
    {
        var rules = Create();
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        _pocketBase.ExpireToken();

        Assert.True(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(2, _pocketBase.SignIns);
    }

    [Fact]
    public async Task SuperuserToken_RenewedAtTheReadBeforeItWouldExpire_TheWatchNeverHoldsAnExpiredOne()
    {
        // The auth-record watch posts this token whenever its stream reconnects. PocketBase (0.22.20 and 0.40.4, measured)
        // answers a realtime POST with an expired token 204, as a guest: the watch would see no member's deletion, and
        // say nothing. Before, the token was renewed only after the collection list refused it.
        var pocketBase = new FakeSchemaPocketBase { TokenLifetime = TimeSpan.FromHours(1), Time = _time };
        var options = Options.Create(new SharedStreamsOptions { Enabled = true, RulesRefreshInterval = TimeSpan.FromMinutes(1) });
        var credentials = Options.Create(new SuperuserCredentialsOptions { SuperuserEmail = "admin@relay.test", SuperuserPassword = "admin-password" });
        var schema = new PocketBaseSchemaClient(new PocketBaseCollectionsClient(pocketBase), credentials, options, _time);
        await schema.ReadCollectionsAsync(CancellationToken.None).WaitAsync(Timeout);

        // The rules are read once a minute: at every read the token must outlive the next one.
        for (var minute = 1; minute <= 120; minute++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await schema.ReadCollectionsAsync(CancellationToken.None).WaitAsync(Timeout);
            Assert.True(Relay.PocketBase.JwtPayload.TryReadExpiry(schema.RealtimeToken!, out var expiresAt));
            Assert.True(expiresAt - _time.GetUtcNow() > TimeSpan.FromMinutes(1), $"minute {minute}: the token left for the watch expires in {expiresAt - _time.GetUtcNow()}");
        }

        // Renewed about once per token lifetime, not at every read.
        Assert.Equal(3, pocketBase.SignIns);
    }

    [Fact]
    public async Task ReadOnceAsync_SuperuserToken_SentWithTheCollectionListAndTheHookProbeOnly()
    {
        var rules = Create();
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        _pocketBase.ExpireToken();
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.NotEmpty(_pocketBase.Authorized);
        Assert.All(_pocketBase.Authorized, request => Assert.Matches("^GET /api/(collections|relay/hooks) ", request));
    }

    [Fact]
    public async Task ReadOnceAsync_HookMissingOn023Plus_WarnsOnce_SaysSoWhenItTurnsUp_ThenStopsAsking()
    {
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<CollectionRules>();
        var rules = Create(logger: logger);
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Single(logger.Collector.GetSnapshot(), static record => record.Id.Id == 11033);
        Assert.Equal(2, _pocketBase.HookProbes);

        _pocketBase.Hook = true;
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Single(logger.Collector.GetSnapshot(), static record => record.Id.Id == 11034);
        Assert.Single(logger.Collector.GetSnapshot(), static record => record.Id.Id == 11033);
        Assert.Equal(3, _pocketBase.HookProbes);
    }

    [Fact]
    public async Task ReadOnceAsync_HookInstalled_NoWarning()
    {
        _pocketBase.Hook = true;
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<CollectionRules>();
        var rules = Create(logger: logger);
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.DoesNotContain(logger.Collector.GetSnapshot(), static record => record.Id.Id is 11033 or 11034);
        Assert.Equal(1, _pocketBase.HookProbes);
    }

    [Fact]
    public async Task Refresher_InClusterMode_WarnsThatNothingIsShared()
    {
        var rules = Create();
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<CollectionRules>();
        using var refresher = new CollectionRulesRefresher(
            rules,
            Options.Create(new SharedStreamsOptions { Enabled = true }),
            Options.Create(new Relay.Redis.RedisOptions { Configuration = "localhost:6379" }),
            _time,
            logger);

        await refresher.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Contains(logger.Collector.GetSnapshot(), static record => record.Id.Id == 11006);
        await refresher.StopAsync(CancellationToken.None).WaitAsync(Timeout);
    }

    [Fact]
    public async Task Refresher_ReadsAtStartThenEveryInterval()
    {
        var rules = Create();
        using var refresher = new CollectionRulesRefresher(rules, Options.Create(new SharedStreamsOptions { Enabled = true, RulesRefreshInterval = TimeSpan.FromMinutes(1) }), Options.Create(new Relay.Redis.RedisOptions()), _time, NullLogger<CollectionRules>.Instance);

        await refresher.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        await TestWait.WaitUntilAsync(() => _pocketBase.Lists == 1);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(1, _pocketBase.Lists);
        _time.Advance(TimeSpan.FromSeconds(1));
        await TestWait.WaitUntilAsync(() => _pocketBase.Lists == 2);
        _time.Advance(TimeSpan.FromMinutes(1));
        await TestWait.WaitUntilAsync(() => _pocketBase.Lists == 3);

        await refresher.StopAsync(CancellationToken.None).WaitAsync(Timeout);
    }

    [Fact]
    public async Task Current_OlderThanMaxAge_EmptyUntilAReadSucceeds()
    {
        var rules = Create();
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        _pocketBase.Fail = true;
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));
        Assert.True(rules.Current.TryGet("posts", out _)); // a failed read keeps the last rules while they are fresh

        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Same(CollectionRuleSet.Empty, rules.Current);

        _pocketBase.Fail = false;
        Assert.True(await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout));
        Assert.True(rules.Current.TryGet("posts", out _));
    }

    [Fact]
    public async Task RefreshAsync_ManyCallersDuringARead_OneMoreReadForAll()
    {
        var rules = Create(spacing: TimeSpan.Zero);
        _pocketBase.Hold();
        var periodic = rules.ReadOnceAsync(CancellationToken.None);
        await TestWait.WaitUntilAsync(() => _pocketBase.Lists == 1);

        // These callers saw a refusal while a read that began before it was in flight: that read may predate the
        // change, so they get one read of their own, shared between them.
        var refreshes = Enumerable.Range(0, 10).Select(_ => rules.RefreshAsync(CancellationToken.None)).ToArray();
        _pocketBase.Release();
        await periodic.WaitAsync(Timeout);
        await Task.WhenAll(refreshes).WaitAsync(Timeout);

        Assert.Equal(2, _pocketBase.Lists);
    }

    [Fact]
    public async Task RefreshAsync_RightAfterARead_WaitsForTheSpacing()
    {
        var rules = Create(spacing: TimeSpan.FromSeconds(2));
        await rules.ReadOnceAsync(CancellationToken.None).WaitAsync(Timeout);

        var refresh = rules.RefreshAsync(CancellationToken.None);
        Assert.False(refresh.IsCompleted);
        Assert.Equal(1, _pocketBase.Lists);

        _time.Advance(TimeSpan.FromSeconds(2));
        await refresh.WaitAsync(Timeout);
        Assert.Equal(2, _pocketBase.Lists);
    }

    public void Dispose()
    {
        _rules?.Dispose();
        _meters.Dispose();
        _pocketBase.Dispose();
    }

    private CollectionRules Create(bool enabled = true, bool credentials = true, TimeSpan? spacing = null, Microsoft.Extensions.Logging.ILogger<CollectionRules>? logger = null)
    {
        var credentialOptions = Options.Create(new SuperuserCredentialsOptions
        {
            SuperuserEmail = credentials ? "admin@relay.test" : null,
            SuperuserPassword = credentials ? "admin-password" : null,
        });
        var options = Options.Create(new SharedStreamsOptions
        {
            Enabled = enabled,
            RulesRefreshInterval = TimeSpan.FromMinutes(1),
            RulesMaxAge = TimeSpan.FromMinutes(5),
            RefreshSpacing = spacing ?? TimeSpan.Zero,
        });
        _rules = new CollectionRules(
            new PocketBaseSchemaClient(new PocketBaseCollectionsClient(_pocketBase), credentialOptions, options, _time),
            options,
            credentialOptions,
            new SharedStreamsMetrics(_meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            _time,
            logger ?? NullLogger<CollectionRules>.Instance);
        return _rules;
    }
}
