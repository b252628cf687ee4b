using System.ComponentModel.DataAnnotations;

namespace Relay;

/// <summary>Top-level settings under <c>Relay:</c>. Feature settings live in their own sections (<c>Relay:PocketBase</c>, <c>Relay:Fanout</c>, ...);
/// the hub's limits, also directly under <c>Relay:</c>, are <see cref="Hubs.HubLimitsOptions"/>.</summary>
internal sealed class RelayOptions : IValidatableObject
{
    public const string SectionName = "Relay";

    /// <summary>Connections without a token share one guest session (PocketBase allows guest subscriptions).</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>
    /// Browser origins (scheme://host:port) allowed to call Relay from another origin (CORS, with credentials, as
    /// SignalR's negotiate needs). Empty: no cross-origin access (WebSockets without negotiation still work).
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Collections that may be subscribed; empty allows every collection.</summary>
    public string[] AllowedCollections { get; set; } = [];

    /// <summary>The longest subscription options payload accepted, as canonical JSON characters.</summary>
    [Range(0, 2000)]
    public int MaxOptionsLength { get; set; } = 1024;

    /// <summary>
    /// Extra URLs (<c>http://+:9090</c>) Kestrel listens on that alone serve <c>/metrics</c> and <c>/health/*</c>; those
    /// paths then answer 404 on every other port. Empty (the default): everything on the main URLs.
    /// </summary>
    public string[] ManagementUrls { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < ManagementUrls.Length; i++)
        {
            int port;
            try
            {
                port = Microsoft.AspNetCore.Http.BindingAddress.Parse(ManagementUrls[i]).Port;
            }
            catch (FormatException)
            {
                port = 0;
            }

            if (port <= 0)
            {
                yield return new ValidationResult(
                    $"{SectionName}:ManagementUrls:{i} must be a URL with a fixed port (http://+:9090); '{ManagementUrls[i]}' is not.", [nameof(ManagementUrls)]);
            }
        }
    }
}
