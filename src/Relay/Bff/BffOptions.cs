using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.Connections;
using Relay.Auth;
using Relay.PocketBase;

namespace Relay.Bff;

/// <summary>Settings under <c>Relay:Bff</c>: the backend-for-frontend mode, where the browser holds a cookie and never a PocketBase token.</summary>
internal sealed class BffOptions : IValidatableObject
{
    public const string SectionName = "Relay:Bff";

    /// <summary>Maps <c>/bff/*</c> and the <c>/api/*</c> proxy, and lets the hub accept the session cookie. Off by default; token mode works either way.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The SignalR transports a hub connection authenticated by the session cookie may use (<c>WebSockets</c>,
    /// <c>ServerSentEvents</c>, <c>LongPolling</c>, comma-separated); all by default. <c>WebSockets</c> alone leaves no
    /// connection whose later requests a cross-site page could forge: a WebSocket is one request, and browsers always send
    /// its <c>Origin</c>. Token connections may use every transport either way.
    /// </summary>
    public HttpTransportType CookieTransports { get; set; } = AllTransports;

    public const HttpTransportType AllTransports = CredentialItems.AllTransports;

    /// <summary>How long a signed-in session lasts, from sign-in (absolute, not sliding).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// How often each instance asks the session store whether the sessions of its open hub connections still exist, and
    /// closes those that ended: the bound on how long a missed sign-out announcement can keep a socket open.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:00:30")]
    public TimeSpan SessionRecheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Sessions one user may hold at once; a sign-in beyond it ends that user's oldest session (and closes its hub connections).</summary>
    [Range(1, 1000)]
    public int MaxSessionsPerUser { get; set; } = 10;

    /// <summary>The auth collection <c>/bff/login</c> signs in to when the body names none.</summary>
    [Required]
    [RegularExpression(BffValidation.CollectionPattern)]
    public string DefaultCollection { get; set; } = "users";

    /// <summary>Sign-in attempts (password and OAuth2) one client address (IPv6: one /64) may make per minute; more are answered 429.</summary>
    [Range(1, 10_000)]
    public int LoginAttemptsPerMinute { get; set; } = 10;

    /// <summary>
    /// Requests to the <c>/api/*</c> proxy one client address (IPv6: one /64) may make per minute (a burst of this many,
    /// then evenly spread); more are answered 429 with <c>Retry-After</c> before they reach PocketBase.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ApiRequestsPerMinute { get; set; } = 1200;

    /// <summary>The largest <c>/bff/login</c> body accepted, in bytes; larger ones are answered 413 unread.</summary>
    [Range(256, 65_536)]
    public int MaxLoginBodyBytes { get; set; } = 4096;

    /// <summary>How long an OAuth2 sign-in may take between leaving for the provider and coming back.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan OAuth2Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Where Data Protection keeps its keys when Redis is not configured (a mounted volume, so sessions survive a
    /// restart). Empty: ASP.NET Core's default location.
    /// </summary>
    public string? KeysDirectory { get; set; }

    /// <summary>
    /// A PKCS#12 file (<c>.pfx</c>, with its private key) that encrypts the Data Protection key ring wherever it is kept
    /// (Redis or <see cref="KeysDirectory"/>). Without it the keys are stored in clear, and whoever reads Redis can
    /// decrypt the session tokens stored beside them. Empty: the key ring is not encrypted (a warning is logged in BFF mode).
    /// </summary>
    public string? KeyEncryptionCertificatePath { get; set; }

    /// <summary>The password of <see cref="KeyEncryptionCertificatePath"/>, if it has one (pass it as a secret: environment or a secrets file).</summary>
    public string? KeyEncryptionCertificatePassword { get; set; }

    /// <summary>
    /// A folder of built web app files (an absolute path) that Relay serves from its own origin, <c>index.html</c> for
    /// <c>/</c>: the one-origin setup BFF mode wants, without a separate web server. Empty: Relay serves no files.
    /// </summary>
    public string? WebRoot { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CookieTransports == HttpTransportType.None || (CookieTransports & ~AllTransports) != 0)
        {
            yield return new ValidationResult(
                $"Relay:Bff:CookieTransports must name one or more of WebSockets, ServerSentEvents, LongPolling; '{CookieTransports}' does not.", [nameof(CookieTransports)]);
        }

        if (PocketBaseAuthAnswer.IsSuperusersCollection(DefaultCollection ?? string.Empty))
        {
            yield return new ValidationResult($"Relay:Bff:DefaultCollection cannot be '{DefaultCollection}': superusers never sign in through Relay.", [nameof(DefaultCollection)]);
        }

        if (!string.IsNullOrEmpty(KeysDirectory) && !Path.IsPathFullyQualified(KeysDirectory))
        {
            yield return new ValidationResult($"Relay:Bff:KeysDirectory must be an absolute path; '{KeysDirectory}' is not.", [nameof(KeysDirectory)]);
        }

        if (!string.IsNullOrEmpty(KeyEncryptionCertificatePath) && (!Path.IsPathFullyQualified(KeyEncryptionCertificatePath) || !File.Exists(KeyEncryptionCertificatePath)))
        {
            yield return new ValidationResult($"Relay:Bff:KeyEncryptionCertificatePath must be an existing file given by its absolute path; '{KeyEncryptionCertificatePath}' is not.", [nameof(KeyEncryptionCertificatePath)]);
        }

        if (string.IsNullOrEmpty(WebRoot))
        {
            yield break;
        }

        // Served files only make sense next to the session endpoints; a web root set in token mode would be a page whose
        // sign-in answers 404, so it is refused rather than ignored.
        if (!Enabled)
        {
            yield return new ValidationResult($"Relay:Bff:WebRoot ('{WebRoot}') is only served in BFF mode; set Relay:Bff:Enabled=true or remove it.", [nameof(WebRoot)]);
        }
        else if (!Path.IsPathFullyQualified(WebRoot) || !Directory.Exists(WebRoot))
        {
            yield return new ValidationResult($"Relay:Bff:WebRoot must be an existing folder given by its absolute path; '{WebRoot}' is not.", [nameof(WebRoot)]);
        }
    }
}
