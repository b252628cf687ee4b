using Microsoft.Extensions.Options;
using Relay.Bff;

namespace Microsoft.AspNetCore.Builder;

internal static class BffEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>/bff/*</c> and the <c>/api/*</c> proxy when <c>Relay:Bff:Enabled</c>; nothing otherwise.</summary>
    public static IEndpointRouteBuilder MapRelayBff(this IEndpointRouteBuilder endpoints)
    {
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<BffOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        // CORS only for Relay:AllowedOrigins (the same list the CSRF check accepts); same-origin pages need none.
        var bff = endpoints.MapGroup("/bff").AddEndpointFilter(BffCsrf.FilterAsync).RequireCors(RelayEndpointRouteBuilderExtensions.CorsPolicy);
        bff.MapPost("/login", BffEndpoints.LoginAsync);
        bff.MapGet("/user", BffEndpoints.UserAsync);
        bff.MapPost("/logout", BffEndpoints.LogoutAsync);
        bff.MapGet("/oauth2/callback", BffOAuth2Endpoints.CallbackAsync);
        bff.MapGet("/oauth2/{provider}", BffOAuth2Endpoints.StartAsync);

        var proxy = endpoints.ServiceProvider.GetRequiredService<BffProxy>();
        endpoints.Map(BffDefaults.ApiPrefix + "/{**path}", proxy.ForwardAsync)
            .RequireCors(RelayEndpointRouteBuilderExtensions.CorsPolicy)
            .RequireRateLimiting(BffApiRateLimit.PolicyName);
        return endpoints;
    }
}
