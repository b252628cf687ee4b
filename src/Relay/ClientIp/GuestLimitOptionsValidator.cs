using Microsoft.Extensions.Options;

namespace Relay.ClientIp;

[OptionsValidator]
internal sealed partial class GuestLimitOptionsValidator : IValidateOptions<GuestLimitOptions>;
