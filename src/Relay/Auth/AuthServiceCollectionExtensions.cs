using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Relay.Auth;

namespace Microsoft.Extensions.DependencyInjection;

internal static class AuthServiceCollectionExtensions
{
    /// <summary>The authorization policy the hub endpoint requires: a verified PocketBase user, or a guest when allowed.</summary>
    public const string PolicyName = "Relay";

    public static IServiceCollection AddRelayAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRelayOptions<AuthOptions, AuthOptionsValidator>(configuration, AuthOptions.SectionName);
        services.TryAddSingleton<VerificationThrottle>();
        services.TryAddSingleton<TokenVerifier>();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, PocketBaseAuthenticationHandler>(PocketBaseIdentity.AuthenticationScheme, displayName: null, configureOptions: null);
        services.AddAuthorizationBuilder().AddPolicy(PolicyName, policy => policy
            .AddAuthenticationSchemes(PocketBaseIdentity.AuthenticationScheme)
            .RequireAuthenticatedUser());
        return services;
    }
}
