using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Bff;
using Relay.Fanout;
using Relay.PocketBase;

namespace Relay.Tests.Bff;

public sealed class BffHubConnectionsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TestMetrics _metrics = new();
    private readonly MemoryBffSessionStore _store;
    private int _connections;

    public BffHubConnectionsTests() => _store = new MemoryBffSessionStore(_time);

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task Register_SignedOutBetweenCookieAndConnect_ClosedWithoutReconnect()
    {
        // The cookie was resolved to a live session, then /bff/logout ran (store emptied, CloseAll found nothing),
        // and only then did the hub register the connection.
        var hubConnections = new BffHubConnections(() => _store, _time);
        var session = await StoreAsync();
        await _store.RemoveAsync(BffSessionHash.Of(session.Id), CancellationToken.None);
        Assert.Equal(0, hubConnections.CloseAll(session.Id));
        var (connection, context) = NewConnection();

        await hubConnections.RegisterAsync(session.Id, connection).WaitAsync(Timeout);

        var close = Assert.IsType<CloseMessage>(Assert.Single(context.Writes));
        Assert.False(close.AllowReconnect);
        Assert.True(context.Aborted);
        Assert.Equal(0, hubConnections.Count(session.Id));
    }

    [Fact]
    public async Task Register_LiveSession_KeptUntilSignOutClosesIt()
    {
        var hubConnections = new BffHubConnections(() => _store, _time);
        var session = await StoreAsync();
        var (connection, context) = NewConnection();

        await hubConnections.RegisterAsync(session.Id, connection).WaitAsync(Timeout);

        Assert.Empty(context.Writes);
        Assert.False(context.Aborted);
        Assert.Equal(1, hubConnections.Count(session.Id));

        Assert.Equal(1, hubConnections.CloseAll(session.Id));
        await context.WaitForAbortAsync().WaitAsync(Timeout);
        Assert.False(Assert.IsType<CloseMessage>(Assert.Single(context.Writes)).AllowReconnect);
        Assert.Equal(0, hubConnections.Count(session.Id));
    }

    [Fact]
    public async Task Register_StoreUnreachable_ClosedButAllowedToReconnect()
    {
        var hubConnections = new BffHubConnections(() => new UnreachableStore(), _time);
        var (connection, context) = NewConnection();

        await hubConnections.RegisterAsync("sid-any", connection).WaitAsync(Timeout);

        Assert.True(Assert.IsType<CloseMessage>(Assert.Single(context.Writes)).AllowReconnect);
        Assert.Equal(0, hubConnections.Count("sid-any"));
    }

    [Fact]
    public async Task Recheck_SessionEndedWithoutAnnouncement_ClosedAtTheNextPass()
    {
        // A sign-out on another instance whose Redis announcement this instance missed: only the store knows.
        var hubConnections = new BffHubConnections(() => _store, _time);
        var ended = await StoreAsync();
        var kept = await StoreAsync();
        var (endedConnection, endedContext) = NewConnection();
        var (keptConnection, keptContext) = NewConnection();
        await hubConnections.RegisterAsync(ended.Id, endedConnection).WaitAsync(Timeout);
        await hubConnections.RegisterAsync(kept.Id, keptConnection).WaitAsync(Timeout);
        await _store.RemoveAsync(BffSessionHash.Of(ended.Id), CancellationToken.None);

        Assert.Equal(1, await hubConnections.RecheckAsync(CancellationToken.None).WaitAsync(Timeout));

        await endedContext.WaitForAbortAsync().WaitAsync(Timeout);
        Assert.False(Assert.IsType<CloseMessage>(Assert.Single(endedContext.Writes)).AllowReconnect);
        Assert.False(keptContext.Aborted);
        Assert.Equal(1, hubConnections.Count(kept.Id));
    }

    [Fact]
    public async Task RecheckService_EveryInterval_ClosesWhatTheStoreNoLongerHolds()
    {
        var hubConnections = new BffHubConnections(() => _store, _time);
        var options = new BffOptions { Enabled = true, SessionRecheckInterval = TimeSpan.FromSeconds(15) };
        using var service = new BffSessionRecheck(hubConnections, Microsoft.Extensions.Options.Options.Create(options), _time, NullLogger<BffSessionRecheck>.Instance);
        var session = await StoreAsync();
        var (connection, context) = NewConnection();
        await hubConnections.RegisterAsync(session.Id, connection).WaitAsync(Timeout);
        await service.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        await _store.RemoveAsync(BffSessionHash.Of(session.Id), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(14));
        await Task.Yield();
        Assert.False(context.Aborted);

        _time.Advance(TimeSpan.FromSeconds(1));
        await context.WaitForAbortAsync().WaitAsync(Timeout);
        Assert.Equal(0, hubConnections.Count(session.Id));
        await service.StopAsync(CancellationToken.None).WaitAsync(Timeout);
    }

    [Fact]
    public async Task RecheckService_StoreUnreachable_ClosesNothingAndKeepsRunning()
    {
        var hubConnections = new BffHubConnections(() => new UnreachableStore(), _time);
        using var service = new BffSessionRecheck(hubConnections, Microsoft.Extensions.Options.Options.Create(new BffOptions { Enabled = true }), _time, NullLogger<BffSessionRecheck>.Instance);

        Assert.Equal(0, await service.RecheckOnceAsync(CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Register_LiveSession_ClosedWithoutReconnectAtItsAbsoluteExpiry()
    {
        var hubConnections = new BffHubConnections(() => _store, _time);
        var session = await StoreAsync();
        var (connection, context) = NewConnection();
        await hubConnections.RegisterAsync(session.Id, connection).WaitAsync(Timeout);

        _time.Advance(session.SessionExpiresAt - _time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.False(context.Aborted);

        _time.Advance(TimeSpan.FromSeconds(1));
        await context.WaitForAbortAsync().WaitAsync(Timeout);
        var close = Assert.IsType<CloseMessage>(Assert.Single(context.Writes));
        Assert.False(close.AllowReconnect);
        Assert.Contains("expired", close.Error, StringComparison.Ordinal);
        Assert.Equal(0, hubConnections.Count(session.Id));
    }

    private async Task<BffSession> StoreAsync()
    {
        var now = _time.GetUtcNow();
        var session = new BffSession("sid-" + Guid.NewGuid().ToString("N"), "col1", "users", "rec1", "token", now.AddHours(1), now, now.AddHours(12), """{"id":"rec1"}""");
        await _store.SetAsync(session, CancellationToken.None);
        return session;
    }

    private (RelayConnection Connection, ClosingContext Context) NewConnection()
    {
        var context = new ClosingContext(new DefaultConnectionContext($"c{Interlocked.Increment(ref _connections)}"));
        return (new RelayConnection(context, new FanoutOptions(), 100, _time, _metrics.Metrics, NullLogger.Instance), context);
    }

    /// <summary>Records the messages written to it and whether it was aborted.</summary>
    private sealed class ClosingContext(DefaultConnectionContext transport)
        : HubConnectionContext(transport, new HubConnectionContextOptions(), NullLoggerFactory.Instance)
    {
        private readonly Lock _gate = new();
        private readonly List<HubMessage> _writes = [];
        private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<HubMessage> Writes
        {
            get
            {
                lock (_gate)
                {
                    return [.. _writes];
                }
            }
        }

        public bool Aborted => _aborted.Task.IsCompleted;

        public Task WaitForAbortAsync() => _aborted.Task;

        public override ValueTask WriteAsync(HubMessage message, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                _writes.Add(message);
            }

            return ValueTask.CompletedTask;
        }

        public override void Abort() => _aborted.TrySetResult();
    }

    private sealed class UnreachableStore : IBffSessionStore
    {
        public Task<BffSession?> GetAsync(string id, CancellationToken cancellationToken) => throw new UpstreamException("The session store (Redis) could not be reached.");

        public Task SetAsync(BffSession session, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> ReplaceAsync(BffSession session, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RemoveAsync(string hash, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<string>> TrimUserAsync(BffSession newest, int maxPerUser, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlySet<string>> LiveAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken) => throw new UpstreamException("The session store (Redis) could not be reached.");

        public Task<bool> TryUseOnceAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
