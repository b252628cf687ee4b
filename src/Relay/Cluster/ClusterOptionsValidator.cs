using Microsoft.Extensions.Options;

namespace Relay.Cluster;

[OptionsValidator]
internal sealed partial class ClusterOptionsValidator : IValidateOptions<ClusterOptions>;
