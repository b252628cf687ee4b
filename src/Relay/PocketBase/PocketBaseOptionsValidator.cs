using Microsoft.Extensions.Options;

namespace Relay.PocketBase;

[OptionsValidator]
internal sealed partial class PocketBaseOptionsValidator : IValidateOptions<PocketBaseOptions>;
