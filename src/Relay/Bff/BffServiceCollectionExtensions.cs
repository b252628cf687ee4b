using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Relay.Auth;
using Relay.Bff;
using Relay.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

internal static class BffServiceCollectionExtensions
{
    private const string DataProtectionKeysKey = "relay:dataprotection:keys";

    /// <summary>
    /// The BFF mode (<c>Relay:Bff:Enabled</c>): session endpoints, the <c>/api/*</c> proxy, cookie sessions for the hub.
    /// Off, the hub's resolver ignores cookies and <c>MapRelayBff</c> maps nothing.
    /// </summary>
    public static IServiceCollection AddRelayBff(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<BffOptions, BffOptionsValidator>(configuration, BffOptions.SectionName);
        services.AddRelayRedis(configuration);

        // Everything is registered whatever the settings and chosen from the options when first used: configuration
        // sources added after AddRelay (test hosts, for one) are only visible to the options, not here.
        services.TryAddSingleton<BffPocketBase>();
        services.TryAddSingleton<BffHubConnections>(static provider => new BffHubConnections(() => provider.GetRequiredService<IBffSessionStore>(), provider.GetRequiredService<TimeProvider>()));
        services.AddHostedService<BffSessionRecheck>();
        services.TryAddSingleton<BffSessions>();
        services.TryAddSingleton<BffLoginLimiter>();
        services.TryAddSingleton<BffProxy>();
        services.TryAddSingleton<BffFileTokens>();
        services.TryAddSingleton<ICredentialSource>(static provider => provider.GetRequiredService<IOptions<BffOptions>>().Value.Enabled
            ? ActivatorUtilities.CreateInstance<BffCredentialSource>(provider)
            : new NoCredentialSource());
        services.TryAddSingleton<IBffSessionStore>(static provider => provider.GetRequiredService<IOptions<RedisOptions>>().Value.IsConfigured
            ? ActivatorUtilities.CreateInstance<RedisBffSessionStore>(provider)
            : ActivatorUtilities.CreateInstance<MemoryBffSessionStore>(provider));
        services.AddHttpForwarder();
        services.AddRateLimiter(BffApiRateLimit.Configure);

        // One application name everywhere: Data Protection otherwise isolates apps by content root path, and instances
        // deployed to different paths could not read each other's cookies.
        services.AddDataProtection().SetApplicationName("Relay");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>(static (keys, provider) =>
        {
            if (provider.GetRequiredService<IOptions<RedisOptions>>().Value.IsConfigured)
            {
                keys.XmlRepository = new RedisXmlRepository(() => provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), DataProtectionKeysKey);
            }
            else if (provider.GetRequiredService<IOptions<BffOptions>>().Value.KeysDirectory is { Length: > 0 } directory)
            {
                keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(directory), provider.GetRequiredService<ILoggerFactory>());
            }

            // Without it the key ring sits in Redis (or the folder) in clear, next to the session tokens it encrypts.
            if (provider.GetRequiredService<BffKeyEncryption>().Certificate is not null)
            {
                keys.XmlEncryptor = ActivatorUtilities.CreateInstance<BffKeyRingEncryptor>(provider);
            }
        });
        services.TryAddSingleton<BffKeyEncryption>();

        services.AddAuthentication().AddCookie(BffDefaults.Scheme);
        services.AddOptions<CookieAuthenticationOptions>(BffDefaults.Scheme)
            .Configure<IHostEnvironment, IOptions<BffOptions>, TimeProvider>(static (cookie, environment, bff, timeProvider) =>
            {
                // Browsers refuse __Host- cookies without Secure, so plain-HTTP development uses an unprefixed name.
                var development = environment.IsDevelopment();
                cookie.Cookie.Name = development ? BffDefaults.DevelopmentCookieName : BffDefaults.SecureCookieName;
                cookie.Cookie.SecurePolicy = development ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.Path = "/";
                cookie.ExpireTimeSpan = bff.Value.SessionLifetime;
                cookie.SlidingExpiration = false;
                cookie.TimeProvider = timeProvider;
                cookie.Events.OnRedirectToLogin = static context =>
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                };
                cookie.Events.OnRedirectToAccessDenied = static context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });
        services.AddOptions<HubOptions>().Configure(static hub => hub.AddFilter<BffHubConnections>());
        return services;
    }
}
