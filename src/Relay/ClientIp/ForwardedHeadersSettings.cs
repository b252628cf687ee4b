using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Relay.ClientIp;

/// <summary>
/// Settings under <c>Relay:ForwardedHeaders</c>: the reverse proxies and load balancers whose <c>X-Forwarded-For</c>
/// and <c>X-Forwarded-Proto</c> Relay believes. From any other peer the headers are ignored, so a client cannot claim
/// another address to escape its per-address limits. Empty (the default): no proxy is trusted.
/// </summary>
internal sealed class ForwardedHeadersSettings : IValidatableObject
{
    public const string SectionName = "Relay:ForwardedHeaders";

    /// <summary>Addresses of trusted proxies, e.g. <c>10.0.0.5</c>.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    public string[] KnownNetworks { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < KnownProxies.Length; i++)
        {
            if (!IPAddress.TryParse(KnownProxies[i], out _))
            {
                yield return new ValidationResult(
                    $"{SectionName}:KnownProxies:{i} must be an IP address; '{KnownProxies[i]}' is not.", [nameof(KnownProxies)]);
            }
        }

        for (var i = 0; i < KnownNetworks.Length; i++)
        {
            if (!IPNetwork.TryParse(KnownNetworks[i], out _))
            {
                yield return new ValidationResult(
                    $"{SectionName}:KnownNetworks:{i} must be a network in CIDR notation (10.0.0.0/8); '{KnownNetworks[i]}' is not.", [nameof(KnownNetworks)]);
            }
        }
    }
}
