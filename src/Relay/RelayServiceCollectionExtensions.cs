using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Relay;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.Hosting;
using Relay.Hubs;
using Relay.Routing;
using Relay.Sessions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Relay: <c>builder.Services.AddRelay(builder.Configuration)</c>, then <c>app.MapRelay()</c>.</summary>
public static class RelayServiceCollectionExtensions
{
    /// <summary>Adds Relay's services, with every setting bound from the <c>Relay</c> configuration section and validated at startup.</summary>
    public static IServiceCollection AddRelay(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddRelayOptions<RelayOptions, RelayOptionsValidator>(configuration, RelayOptions.SectionName);
        services.AddRelayOptions<HubLimitsOptions, HubLimitsOptionsValidator>(configuration, HubLimitsOptions.SectionName);
        services.AddRelayOptions<Relay.Sessions.SessionOptions, SessionOptionsValidator>(configuration, Relay.Sessions.SessionOptions.SectionName);
        services.AddRelayOptions<FanoutOptions, FanoutOptionsValidator>(configuration, FanoutOptions.SectionName);
        services.AddRelayOptions<HistoryOptions, HistoryOptionsValidator>(configuration, HistoryOptions.SectionName);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RelayMetrics>();
        services.AddRelayUpstream(configuration);
        services.AddRelayClientIp(configuration);
        services.AddRelayAuth(configuration);
        services.AddRelayBff(configuration);
        services.AddRelayCluster(configuration);
        services.AddRelaySharedStreams(configuration);
        services.TryAddSingleton<TopicSubscriptionFactory>();
        services.TryAddSingleton(static services => new CommitLagRecorder(
            services.GetRequiredService<Relay.SharedStreams.SharedStreamsMetrics>().CommitLag, services.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<FanoutDispatcher>();
        services.TryAddSingleton<ISessionEventLogFactory, MemorySessionEventLogFactory>();
        services.TryAddSingleton<SessionManager>();
        services.TryAddSingleton<RelayHubFilter>();
        services.TryAddSingleton<HubConnectionIdentities>();
        services.TryAddSingleton<ConnectionIdentityGate>();
        services.TryAddSingleton<TopicClaims>();

        // Prometheus scraping at /metrics (MapRelay): the de-facto standard exporter for System.Diagnostics.Metrics.
        services.AddOpenTelemetry()
            .ConfigureResource(static resource => resource.AddService("relay"))
            .WithMetrics(static metrics => metrics.AddMeter(RelayMetrics.MeterName)
                // Commit lag spans PocketBase's write path and Relay's: from a few ms on one machine to seconds under load.
                .AddView("relay.shared.commit_lag", new ExplicitBucketHistogramConfiguration { Boundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] })
                .AddPrometheusExporter());
        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Traces only leave the process when an OTLP collector is configured (the standard OTEL_* variables).
            services.AddOpenTelemetry().WithTracing(static tracing => tracing.AddSource(RelayTelemetry.SourceName).AddOtlpExporter());
        }

        services.TryAddSingleton<RelayDrainService>();
        services.AddHostedService(static provider => provider.GetRequiredService<RelayDrainService>());
        services.AddHostedService<ManagementUrls>();
        services.AddCors(static cors => { });
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<IOptions<RelayOptions>>(static (cors, relay) =>
            cors.AddPolicy(RelayEndpointRouteBuilderExtensions.CorsPolicy, policy => policy
                .WithOrigins(relay.Value.AllowedOrigins)
                .AllowAnyHeader()
                .AllowAnyMethod()
                .AllowCredentials()));
        services.AddHealthChecks().AddCheck<PocketBaseHealthCheck>("pocketbase", tags: [RelayEndpointRouteBuilderExtensions.ReadyTag]);
        services.AddSignalR()
            .AddMessagePackProtocol(options => options.SerializerOptions = RelayMessagePack.SerializerOptions);

        services.AddOptions<HubOptions>().Configure<IOptions<HubLimitsOptions>>(static (hub, limits) =>
        {
            hub.MaximumReceiveMessageSize = limits.Value.MaxReceiveMessageSize;
            // One call at a time per connection: a connection's Subscribe/Unsubscribe apply in the order sent.
            hub.MaximumParallelInvocationsPerClient = 1;
            hub.AddFilter<RelayHubFilter>();
            hub.AddFilter<HubConnectionIdentities>();
        });

        // Replaces AddSignalR's open-generic default for Relay's hub only.
        services.AddSingleton<HubLifetimeManager<RelayHub>, RelayHubLifetimeManager>();
        return services;
    }
}
