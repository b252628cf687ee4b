using Microsoft.Extensions.Options;

namespace Relay.Bff;

[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
