using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Microsoft.Extensions.DependencyInjection;

internal static class PocketBaseServiceCollectionExtensions
{
    /// <summary>PocketBase's address and timeouts (<c>Relay:PocketBase</c>), its two HTTP clients and the realtime API client.</summary>
    public static IServiceCollection AddRelayPocketBase(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<PocketBaseOptions, PocketBaseOptionsValidator>(configuration, PocketBaseOptions.SectionName);

        services.AddHttpClient(PocketBaseHttp.RestClient, static (provider, client) =>
        {
            var options = provider.GetRequiredService<IOptions<PocketBaseOptions>>().Value;
            client.BaseAddress = options.Url;
            client.Timeout = options.RequestTimeout;
        });

        // No overall timeout on streams: RealtimeStream enforces an idle timeout between messages instead.
        services.AddHttpClient(PocketBaseHttp.StreamClient, static (provider, client) =>
        {
            client.BaseAddress = provider.GetRequiredService<IOptions<PocketBaseOptions>>().Value.Url;
            client.Timeout = Timeout.InfiniteTimeSpan;
        }).ConfigurePrimaryHttpMessageHandler(static provider =>
        {
            var options = provider.GetRequiredService<IOptions<PocketBaseOptions>>().Value;
            return new SocketsHttpHandler
            {
                ConnectCallback = PocketBaseSockets.KeepAliveConnectCallback(options),

                // The client has no overall timeout; a TCP connect that never completes must still fail.
                ConnectTimeout = options.RequestTimeout,
            };
        });

        services.TryAddSingleton<PocketBaseRealtimeClient>();
        return services;
    }
}
