using Microsoft.Extensions.Options;

namespace Relay.ClientIp;

[OptionsValidator]
internal sealed partial class FilterCheckOptionsValidator : IValidateOptions<FilterCheckOptions>;
