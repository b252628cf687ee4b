using Microsoft.Extensions.Options;

namespace Relay;

/// <summary>
/// Runs a source-generated validator and rewrites its messages to name the configuration key
/// (<c>Relay:Fanout:ChunkSize</c> rather than <c>FanoutOptions.ChunkSize</c>), so a bad setting stops the host with a
/// message that says exactly what to fix in appsettings or the environment.
/// </summary>
internal sealed class OptionsSectionValidator<TOptions>(IValidateOptions<TOptions> inner, string section) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var result = inner.Validate(name, options);
        if (!result.Failed || result.Failures is null)
        {
            return result;
        }

        var typeName = typeof(TOptions).Name + ".";
        return ValidateOptionsResult.Fail(result.Failures.Select(failure => failure.Replace(typeName, section + ":", StringComparison.Ordinal)));
    }
}
