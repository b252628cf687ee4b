using Microsoft.Extensions.Options;

namespace Relay.Sessions;

[OptionsValidator]
internal sealed partial class HistoryOptionsValidator : IValidateOptions<HistoryOptions>;
