using Microsoft.Extensions.Options;

namespace Relay.SharedStreams;

[OptionsValidator]
internal sealed partial class SharedStreamsOptionsValidator : IValidateOptions<SharedStreamsOptions>;
