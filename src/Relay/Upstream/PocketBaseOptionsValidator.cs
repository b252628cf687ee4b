using Microsoft.Extensions.Options;

namespace Relay.Upstream;

[OptionsValidator]
internal sealed partial class PocketBaseOptionsValidator : IValidateOptions<PocketBaseOptions>;
