using System.ComponentModel.DataAnnotations;

namespace Relay.PocketBase;

/// <summary>Settings under <c>Relay:PocketBase</c>: where PocketBase is and how Relay talks to it.</summary>
internal sealed class PocketBaseOptions : IValidatableObject
{
    public const string SectionName = "Relay:PocketBase";

    /// <summary>PocketBase's base URL, e.g. <c>http://pocketbase:8090/</c>.</summary>
    [Required(ErrorMessage = "Relay:PocketBase:Url is required (PocketBase's base URL, e.g. http://127.0.0.1:8090/).")]
    public Uri? Url { get; set; }

    /// <summary>Timeout of one REST call (subscription POST, auth-refresh), and of each step of opening a realtime stream (TCP connect, response headers, <c>PB_CONNECT</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A stream that delivers nothing for this long is taken as dead and re-established. PocketBase closes idle streams
    /// itself after 5 minutes, so anything quieter than that is a half-open connection.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(6);

    /// <summary>How long a <c>Subscribe</c> call waits for PocketBase to accept the topic before failing with <c>upstream_unavailable</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan SubscribeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay before re-establishing a lost stream; doubles per attempt, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of the reconnect delay.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A stream is replaced (make before break, no <c>Resync</c>) once it has received nothing for this long. PocketBase
    /// closes a stream 5 minutes after the last message it sent on it (hard-coded; a subscription POST does not reset
    /// that timer), so the default leaves 30 seconds of margin.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RotateAfterIdle { get; set; } = TimeSpan.FromSeconds(270);

    /// <summary>
    /// A stream is replaced (make before break) once it is this old, whatever its traffic. Current PocketBase (0.39+)
    /// ends every stream after 30 minutes. Up to a tenth is taken off at random per stream so sessions opened together
    /// do not rotate in step.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RotateAfterLifetime { get; set; } = TimeSpan.FromMinutes(29);

    /// <summary>
    /// TCP keep-alive on the realtime connection: probes start after this much silence on the socket (then every
    /// <see cref="TcpKeepAliveInterval"/>, 3 tries). PocketBase sends no heartbeat, so without it a half-open connection
    /// (a cut the kernel never heard about) would look like a quiet stream and be rotated away without a <c>Resync</c>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan TcpKeepAliveTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between TCP keep-alive probes once they started; a dead peer is noticed after three unanswered ones.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan TcpKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the old stream is still read after its replacement's subscriptions were accepted, so events already on their way on it are not lost.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult(
                $"Relay:PocketBase:Url must be an absolute http or https URL; '{url}' is not.",
                [nameof(Url)]);
        }

        if (RotateAfterIdle >= IdleTimeout)
        {
            yield return new ValidationResult(
                $"Relay:PocketBase:RotateAfterIdle ({RotateAfterIdle}) must be shorter than Relay:PocketBase:IdleTimeout ({IdleTimeout}): a quiet stream must be replaced before it is taken as dead.",
                [nameof(RotateAfterIdle)]);
        }

        if (ReconnectMaxDelay < ReconnectBaseDelay)
        {
            yield return new ValidationResult(
                "Relay:PocketBase:ReconnectMaxDelay must not be shorter than Relay:PocketBase:ReconnectBaseDelay.",
                [nameof(ReconnectMaxDelay)]);
        }
    }
}
