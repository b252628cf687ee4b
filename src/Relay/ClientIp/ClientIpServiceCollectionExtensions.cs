using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Relay.ClientIp;

namespace Microsoft.Extensions.DependencyInjection;

internal static class ClientIpServiceCollectionExtensions
{
    /// <summary>The client address (forwarded headers from trusted proxies only) and the per-address guest limits.</summary>
    public static IServiceCollection AddRelayClientIp(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<ForwardedHeadersSettings, ForwardedHeadersSettingsValidator>(configuration, ForwardedHeadersSettings.SectionName);
        services.AddRelayOptions<GuestLimitOptions, GuestLimitOptionsValidator>(configuration, GuestLimitOptions.SectionName);
        services.TryAddSingleton<GuestLimiter>();
        services.AddRelayOptions<FilterCheckOptions, FilterCheckOptionsValidator>(configuration, FilterCheckOptions.SectionName);
        services.TryAddSingleton<FilterCheckLimiter>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>(static (forwarded, settings) =>
        {
            var trusted = settings.Value.KnownProxies.Length + settings.Value.KnownNetworks.Length > 0;
            // With empty lists the middleware would believe every peer; with no proxy configured it must believe none.
            forwarded.ForwardedHeaders = trusted ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto : ForwardedHeaders.None;
            // The middleware trusts loopback by default; Relay trusts exactly what the operator lists, nothing else.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // The obsolete list is still consulted and holds the loopback default too.
            forwarded.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            // Walk X-Forwarded-For from the right through every trusted hop: the client is the first untrusted address.
            forwarded.ForwardLimit = null;
            foreach (var proxy in settings.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }
}
