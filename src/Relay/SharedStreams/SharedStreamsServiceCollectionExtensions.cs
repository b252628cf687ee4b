using Microsoft.Extensions.DependencyInjection.Extensions;
using Relay.SharedStreams;

namespace Microsoft.Extensions.DependencyInjection;

internal static class SharedStreamsServiceCollectionExtensions
{
    /// <summary>Shared streams' settings, the superuser credentials, and the collection rules (read only when <c>Relay:SharedStreams:Enabled</c>).</summary>
    public static IServiceCollection AddRelaySharedStreams(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<SharedStreamsOptions, SharedStreamsOptionsValidator>(configuration, SharedStreamsOptions.SectionName);
        services.AddRelayOptions<SuperuserCredentialsOptions, SuperuserCredentialsOptionsValidator>(configuration, SuperuserCredentialsOptions.SectionName);

        services.TryAddSingleton<SharedStreamsMetrics>();
        services.TryAddSingleton<PocketBaseSchemaClient>();
        services.TryAddSingleton<CollectionRules>();
        services.TryAddSingleton<AuthRecordWatch>();
        services.TryAddSingleton<ClassStreams>();
        services.TryAddSingleton<Relay.Sessions.ISessionListener>(static provider => provider.GetRequiredService<ClassStreams>());
        services.AddHostedService<CollectionRulesRefresher>();
        return services;
    }
}
