using Microsoft.Extensions.Options;

namespace Relay.Fanout;

[OptionsValidator]
internal sealed partial class FanoutOptionsValidator : IValidateOptions<FanoutOptions>;
