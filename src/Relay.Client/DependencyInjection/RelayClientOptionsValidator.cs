using Microsoft.Extensions.Options;

namespace Relay.Client.DependencyInjection;

/// <summary>The same checks as the <see cref="RelayClient"/> constructor, run when the host starts so bad configuration stops it with the option's name and value.</summary>
internal sealed class RelayClientOptionsValidator : IValidateOptions<RelayClientOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayClientOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
