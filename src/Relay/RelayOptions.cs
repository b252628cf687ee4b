using System.ComponentModel.DataAnnotations;

namespace Relay;

/// <summary>Top-level settings under <c>Relay:</c>. Feature settings live in their own sections (<c>Relay:PocketBase</c>, <c>Relay:Fanout</c>, ...).</summary>
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

    [Range(1, 1000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>The longest subscription options payload accepted, as canonical JSON characters.</summary>
    [Range(0, 2000)]
    public int MaxOptionsLength { get; set; } = 1024;

    /// <summary>The most simultaneous connections of one user (guests share one session and are not limited by it).</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>Hub calls (Subscribe, Unsubscribe, Reauthenticate) one connection may make per second, sustained; bursts up to the same number.</summary>
    [Range(1, 10_000)]
    public int HubCallsPerSecond { get; set; } = 20;

    /// <summary>The largest message a client may send, in bytes (SignalR closes a connection that sends more).</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxReceiveMessageSize { get; set; } = 32 * 1024;

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
