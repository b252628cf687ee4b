using System.Buffers.Text;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Auth;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Sessions;
using Relay.Tests.Upstream;
using Relay.Upstream;

namespace Relay.Tests.Sessions;

/// <summary>A real <see cref="SessionManager"/> on a fake clock, with the fake PocketBase behind its HTTP calls.</summary>
internal sealed class SessionHarness : IAsyncDisposable
{
    public const string UsersCollection = "_pb_users_auth_";

    private readonly TestMetrics _metrics;
    private int _connections;

    // With rules (read from a fake schema), shared streams are on: ClassStreams routes shared topics.
    public SessionHarness(TimeSpan? linger = null, Action<SessionOptions>? configure = null, HistoryOptions? history = null, Relay.SharedStreams.CollectionRules? rules = null, ISessionEventLogFactory? eventLogs = null, Relay.SharedStreams.PocketBaseSchemaClient? superuser = null, TimeSpan timersEarly = default)
    {
        History = history ?? new HistoryOptions();
        var sessionOptions = new SessionOptions { Linger = linger ?? TimeSpan.FromSeconds(15) };
        configure?.Invoke(sessionOptions);
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero));
        _metrics = new TestMetrics(Time);
        var pocketBaseOptions = Options.Create(new PocketBaseOptions { Url = new Uri("http://pocketbase.test/") });
        Auth = new AuthOptions { RefreshBefore = TimeSpan.FromMinutes(5), RevalidateInterval = TimeSpan.FromMinutes(5) };
        var verifier = new TokenVerifier(
            new PocketBaseAuthClient(PocketBase), Options.Create(Auth), new VerificationThrottle(Options.Create(Auth), Time), _metrics.Metrics, Time, NullLogger<TokenVerifier>.Instance);
        var realtimeClient = new PocketBaseRealtimeClient(PocketBase, pocketBaseOptions, Time);
        var upstreams = new UpstreamConnectionFactory(realtimeClient, new UpstreamConnectPipeline(pocketBaseOptions, Time, _metrics.Metrics), pocketBaseOptions, Time, _metrics.Metrics, NullLoggerFactory.Instance);
        var fanout = new FanoutDispatcher(Options.Create(new FanoutOptions()), _metrics.Metrics);
        var memoryLogs = new MemorySessionEventLogFactory(Options.Create(History), Time);
        if (rules is not null)
        {
            // Auth records are watched on a stream held with the superuser's token, as Relay does.
            ArgumentNullException.ThrowIfNull(superuser);
            AuthRecordWatch = new Relay.SharedStreams.AuthRecordWatch(upstreams, superuser, Time, NullLogger<Relay.SharedStreams.AuthRecordWatch>.Instance);
            ClassStreams = new Relay.SharedStreams.ClassStreams(
                Options.Create(new Relay.SharedStreams.SharedStreamsOptions { Enabled = true }),
                Options.Create(new Relay.Redis.RedisOptions()),
                rules,
                upstreams,
                fanout,
                Options.Create(sessionOptions),
                Options.Create(History),
                pocketBaseOptions,
                Time,
                realtimeClient,
                memoryLogs,
                verifier,
                new Relay.SharedStreams.SharedStreamsMetrics(_metrics.MeterFactory),
                NullLogger<Relay.SharedStreams.ClassStreams>.Instance,
                AuthRecordWatch);
        }

        Manager = new SessionManager(
            Options.Create(sessionOptions),
            Options.Create(Auth),
            verifier,
            fanout,
            realtimeClient,
            upstreams,
            _metrics.Metrics,
            timersEarly > TimeSpan.Zero ? new EarlyTimers(Time, timersEarly) : Time,
            NullLoggerFactory.Instance,
            eventLogs ?? memoryLogs,
            Options.Create(History),
            ClassStreams);
    }

    /// <summary>The superuser's watch of auth records; null unless the harness was given rules (and the superuser's client).</summary>
    public Relay.SharedStreams.AuthRecordWatch? AuthRecordWatch { get; }

    /// <summary>Shared streams' router; null unless the harness was given rules.</summary>
    public Relay.SharedStreams.ClassStreams? ClassStreams { get; }

    public System.Diagnostics.Metrics.IMeterFactory MeterFactory => _metrics.MeterFactory;

    public HistoryOptions History { get; }

    public FakeTimeProvider Time { get; }

    public FakePocketBase PocketBase { get; } = new();

    public AuthOptions Auth { get; }

    public SessionManager Manager { get; }

    public int RefreshCalls;

    public RelayConnection NewConnection(FanoutOptions? fanout = null, ILogger? logger = null)
    {
        var context = new HubConnectionContext(new DefaultConnectionContext($"c{Interlocked.Increment(ref _connections)}"), new HubConnectionContextOptions(), NullLoggerFactory.Instance);
        return new RelayConnection(context, fanout ?? new FanoutOptions(), 100, Time, _metrics.Metrics, logger ?? NullLogger.Instance);
    }

    /// <summary>A JWT shaped like PocketBase's (the signature is never checked by Relay; PocketBase verifies).</summary>
    public static string Token(string recordId, DateTimeOffset expiresAt, string salt = "")
    {
        static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        return $"{Part("""{"alg":"HS256","typ":"JWT"}""")}.{Part($$"""{"id":"{{recordId}}","collectionId":"{{UsersCollection}}","type":"authRecord","exp":{{expiresAt.ToUnixTimeSeconds()}},"salt":"{{salt}}"}""")}.signature";
    }

    /// <summary>PocketBase's auth-refresh answer for <paramref name="recordId"/>: a fresh token valid for <paramref name="lifetime"/>.</summary>
    public HttpResponseMessage Refreshed(string recordId, TimeSpan lifetime)
    {
        Interlocked.Increment(ref RefreshCalls);
        var fresh = Token(recordId, Time.GetUtcNow() + lifetime, salt: Guid.NewGuid().ToString("N"));
        return Json(HttpStatusCode.OK, $$$"""{"token":"{{{fresh}}}","record":{"id":"{{{recordId}}}","collectionId":"{{{UsersCollection}}}","collectionName":"users"}}""");
    }

    public HttpResponseMessage Refused()
    {
        Interlocked.Increment(ref RefreshCalls);
        return Json(HttpStatusCode.Unauthorized, """{"code":401,"message":"The request requires valid record authorization token to be set.","data":{}}""");
    }

    public HttpResponseMessage Malformed()
    {
        Interlocked.Increment(ref RefreshCalls);
        // A 200 whose body is cut short: not JSON PocketBase would send.
        return Json(HttpStatusCode.OK, "{\"token\":");
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string body)
        => new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>Advances the fake clock in steps until <paramref name="condition"/> holds; fails after a real-time timeout.</summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan step, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        var advanced = TimeSpan.Zero;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            Assert.True(limit is null || advanced <= limit, $"condition not met within {limit} of fake time");
            Time.Advance(step);
            advanced += step;
            await Task.Delay(10);
        }
    }

    /// <summary>Lets callbacks queued by the last advance run (real time; the fake clock does not move).</summary>
    public static async Task SettleAsync() => await Task.Delay(100);

    public async ValueTask DisposeAsync()
    {
        await Manager.DisposeAsync();
        if (AuthRecordWatch is not null)
        {
            await AuthRecordWatch.DisposeAsync();
        }

        _metrics.Dispose();
    }
}
