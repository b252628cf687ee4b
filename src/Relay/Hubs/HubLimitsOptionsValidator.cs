using Microsoft.Extensions.Options;

namespace Relay.Hubs;

[OptionsValidator]
internal sealed partial class HubLimitsOptionsValidator : IValidateOptions<HubLimitsOptions>;
