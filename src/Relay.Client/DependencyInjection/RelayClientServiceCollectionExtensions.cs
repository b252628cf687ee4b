using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.Client;
using Relay.Client.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="RelayClient"/> in an app's services.</summary>
public static class RelayClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="RelayClient"/> (also as <see cref="IRelayConnection"/>), its options bound from
    /// <paramref name="configuration"/> (for example <c>builder.Configuration.GetSection("RelayClient")</c>, with keys
    /// <c>Url</c>, <c>UseMessagePack</c>, <c>Transports</c>, <c>ReconnectBaseDelay</c>, <c>ReconnectMaxDelay</c>,
    /// <c>SubscribeBatchDelay</c>, <c>StartWithHost</c>) and validated when the host starts, and a hosted service that
    /// connects it in the background when <see cref="RelayClientOptions.StartWithHost"/> is true. The client logs through
    /// the app's <see cref="ILoggerFactory"/> and is disposed with the service provider.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">The configuration section holding the options.</param>
    /// <param name="configure">Sets what configuration cannot hold, typically <see cref="RelayClientOptions.AccessTokenProvider"/> from the app's auth service. Runs after binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRelayClient(this IServiceCollection services, IConfiguration configuration, Action<IServiceProvider, RelayClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = AddCore(services);
        options.Bind(configuration);
        if (configure is not null)
        {
            options.Configure<IServiceProvider>((o, provider) => configure(provider, o));
        }

        return services;
    }

    /// <summary>Registers one <see cref="RelayClient"/> as <see cref="AddRelayClient(IServiceCollection, IConfiguration, Action{IServiceProvider, RelayClientOptions})"/> does, with options set in code.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Sets the options; <see cref="RelayClientOptions.Url"/> is required.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRelayClient(this IServiceCollection services, Action<RelayClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(services).Configure(configure);
        return services;
    }

    private static OptionsBuilder<RelayClientOptions> AddCore(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RelayClientOptions>();
        options.PostConfigure<IServiceProvider>(static (o, provider) => o.LoggerFactory ??= provider.GetService<ILoggerFactory>());
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RelayClientOptions>, RelayClientOptionsValidator>());
        services.TryAddSingleton(static provider => new RelayClient(provider.GetRequiredService<IOptions<RelayClientOptions>>().Value));
        services.TryAddSingleton<IRelayConnection>(static provider => provider.GetRequiredService<RelayClient>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RelayClientHostedService>());
        return options;
    }
}
