using Microsoft.Extensions.Options;

namespace Relay.Bff;

[OptionsValidator]
internal sealed partial class BffOptionsValidator : IValidateOptions<BffOptions>;
