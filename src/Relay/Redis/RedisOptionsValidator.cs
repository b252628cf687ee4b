using Microsoft.Extensions.Options;

namespace Relay.Redis;

[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
