using Microsoft.Extensions.Options;

namespace Relay.ClientIp;

[OptionsValidator]
internal sealed partial class ForwardedHeadersSettingsValidator : IValidateOptions<ForwardedHeadersSettings>;
