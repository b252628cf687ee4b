using Microsoft.Extensions.Options;
using Relay;

namespace Microsoft.Extensions.DependencyInjection;

internal static class RelayOptionsServiceCollectionExtensions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/> and validates it when the host starts.</summary>
    public static IServiceCollection AddRelayOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new OptionsSectionValidator<TOptions>(new TValidator(), section));
        return services;
    }
}
