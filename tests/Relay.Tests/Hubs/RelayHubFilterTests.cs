using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Hubs;
using Relay.Sessions;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Tests.Sessions;

namespace Relay.Tests.Hubs;

/// <summary>What the filter around every hub call lets through to SignalR, which logs a call that throws at Error.</summary>
public sealed class RelayHubFilterTests : IAsyncDisposable
{
    private readonly SessionHarness _harness = new();
    private readonly TestMetrics _metrics = new();

    [Fact]
    public async Task CallCancelledBecauseItsConnectionWentAway_EndsQuietly_NotAnErrorForSignalRToLog()
    {
        // Seen in the cluster chaos run: a client cut in the middle of SubscribeMany (its wait for PocketBase cancelled by
        // ConnectionAborted) logged "Failed to invoke hub method" at Error, 54 times over 8 runs.
        var (filter, context, aborted, metrics) = Create();
        aborted.Cancel();

        var result = await filter.InvokeMethodAsync(Invocation(context), static _ => throw new TaskCanceledException());

        Assert.Null(result);
        Assert.Empty(metrics.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task CallCancelledWhileItsConnectionIsStillThere_IsRelaysError_LeftToSignalR()
    {
        var (filter, context, _, metrics) = Create();

        await Assert.ThrowsAsync<TaskCanceledException>(() => filter.InvokeMethodAsync(Invocation(context), static _ => throw new TaskCanceledException()).AsTask());

        Assert.Equal(RelayHubFilter.InternalError, Assert.Single(metrics.GetMeasurementSnapshot()).Tags["code"]);
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.DisposeAsync();
        _metrics.Dispose();
    }

    private (RelayHubFilter Filter, FakeCallerContext Context, CancellationTokenSource Aborted, MetricCollector<long> Errors) Create()
    {
        var connection = _harness.NewConnection();
        var session = _harness.Manager.Attach(connection, SessionKey.Guest, null, DateTimeOffset.MaxValue);
        var aborted = new CancellationTokenSource();
        var context = new FakeCallerContext(aborted.Token);
        RelayHubLifetimeManager.Register(context.Items, connection, session);
        var errors = new MetricCollector<long>(_metrics.MeterFactory, Relay.Diagnostics.RelayMetrics.MeterName, "relay.hub.errors");
        return (new RelayHubFilter(_metrics.Metrics, NullLogger<RelayHubFilter>.Instance), context, aborted, errors);
    }

    private static HubInvocationContext Invocation(HubCallerContext context)
        => new(context, new ServiceCollection().BuildServiceProvider(), new TestHub(), typeof(TestHub).GetMethod(nameof(TestHub.SubscribeMany))!, []);

    private sealed class TestHub : Hub
    {
        public static Task SubscribeMany() => Task.CompletedTask;
    }

    private sealed class FakeCallerContext(CancellationToken aborted) : HubCallerContext
    {
        public override string ConnectionId => "c1";

        public override string? UserIdentifier => null;

        public override ClaimsPrincipal? User => null;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => aborted;

        public override void Abort()
        {
        }
    }
}
