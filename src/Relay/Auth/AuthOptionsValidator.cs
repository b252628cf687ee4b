using Microsoft.Extensions.Options;

namespace Relay.Auth;

[OptionsValidator]
internal sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;
