namespace Relay.Client;

/// <summary>
/// Relay refused a hub call or one topic of it (<c>Subscribe</c>, <c>SubscribeMany</c>, <c>Reauthenticate</c>).
/// <see cref="Code"/> is one of <see cref="Protocol.RelayErrorCodes"/>; the message is Relay's explanation, starting with the code.
/// </summary>
public sealed class RelaySubscriptionException : Exception
{
    /// <summary>The <see cref="Code"/> of a refusal whose message carries no code.</summary>
    public const string UnknownCode = "unknown";

    /// <summary>Creates the exception.</summary>
    /// <param name="code">The stable error code, or <see cref="UnknownCode"/>.</param>
    /// <param name="message">Relay's explanation.</param>
    /// <param name="innerException">The hub error it came from.</param>
    public RelaySubscriptionException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = string.IsNullOrEmpty(code) ? UnknownCode : code;
    }

    /// <summary>Creates the exception with code <see cref="UnknownCode"/>.</summary>
    public RelaySubscriptionException()
        : this(UnknownCode, "The subscription was refused.")
    {
    }

    /// <summary>Creates the exception with code <see cref="UnknownCode"/>.</summary>
    /// <param name="message">The explanation.</param>
    public RelaySubscriptionException(string message)
        : this(UnknownCode, message)
    {
    }

    /// <summary>Creates the exception with code <see cref="UnknownCode"/>.</summary>
    /// <param name="message">The explanation.</param>
    /// <param name="innerException">The cause.</param>
    public RelaySubscriptionException(string message, Exception innerException)
        : this(UnknownCode, message, innerException)
    {
    }

    /// <summary>The stable error code, e.g. <c>invalid_topic</c> or <c>upstream_unavailable</c>.</summary>
    public string Code { get; }

    /// <summary>The topic Relay refused, or <see langword="null"/> when the refused call was not about one topic (<c>Reauthenticate</c>).</summary>
    public string? Topic { get; init; }
}
