using Microsoft.Extensions.Options;

namespace Relay;

[OptionsValidator]
internal sealed partial class RelayOptionsValidator : IValidateOptions<RelayOptions>;
