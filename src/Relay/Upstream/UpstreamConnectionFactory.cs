using Microsoft.Extensions.Options;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Upstream;

/// <summary>Relay alone: every session holds its own <see cref="UpstreamConnection"/> to PocketBase.</summary>
internal sealed class UpstreamConnectionFactory(
    PocketBaseRealtimeClient client,
    UpstreamConnectPipeline pipeline,
    IOptions<PocketBaseOptions> options,
    TimeProvider timeProvider,
    RelayMetrics metrics,
    ILoggerFactory loggerFactory) : IUpstreamFactory
{
    private readonly ILogger<UpstreamConnection> _logger = loggerFactory.CreateLogger<UpstreamConnection>();

    public UpstreamConnection CreateConnection(IUpstreamSubscriber subscriber)
        => new(subscriber, client, pipeline, options, timeProvider, metrics, _logger);

    IUpstream IUpstreamFactory.Create(IUpstreamSubscriber subscriber) => CreateConnection(subscriber);
}
