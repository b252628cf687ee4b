using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Relay.PocketBase;
using Relay.SharedStreams;

namespace Microsoft.Extensions.DependencyInjection;

internal static class SharedStreamsServiceCollectionExtensions
{
    /// <summary>Shared streams' settings, the superuser credentials, and the collection rules (read only when <c>Relay:SharedStreams:Enabled</c>).</summary>
    public static IServiceCollection AddRelaySharedStreams(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<SharedStreamsOptions, SharedStreamsOptionsValidator>(configuration, SharedStreamsOptions.SectionName);
        services.AddRelayOptions<SuperuserCredentialsOptions, SuperuserCredentialsOptionsValidator>(configuration, SuperuserCredentialsOptions.SectionName);

        // A client of its own: it carries the superuser token, so its logs redact every header value whatever the level.
        services.AddHttpClient(PocketBaseSchemaClient.HttpClientName, static (provider, client) =>
        {
            var options = provider.GetRequiredService<IOptions<PocketBaseOptions>>().Value;
            client.BaseAddress = options.Url;
            client.Timeout = options.RequestTimeout;
        }).RedactLoggedHeaders(static _ => true);

        services.TryAddSingleton<SharedStreamsMetrics>();
        services.TryAddSingleton<PocketBaseSchemaClient>();
        services.TryAddSingleton<CollectionRules>();
        services.AddHostedService<CollectionRulesRefresher>();
        return services;
    }
}
