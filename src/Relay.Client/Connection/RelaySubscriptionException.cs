namespace Relay.Client;

/// <summary>Relay refused a subscription. <see cref="Code"/> is one of <see cref="Protocol.RelayErrorCodes"/>.</summary>
public sealed class RelaySubscriptionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The stable error code, or <c>unknown</c>.</param>
    /// <param name="message">Relay's explanation.</param>
    /// <param name="innerException">The hub error it came from.</param>
    public RelaySubscriptionException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates the exception with code <c>unknown</c>.</summary>
    public RelaySubscriptionException()
        : this("unknown", "The subscription was refused.")
    {
    }

    /// <summary>Creates the exception with code <c>unknown</c>.</summary>
    /// <param name="message">The explanation.</param>
    public RelaySubscriptionException(string message)
        : this("unknown", message)
    {
    }

    /// <summary>Creates the exception with code <c>unknown</c>.</summary>
    /// <param name="message">The explanation.</param>
    /// <param name="innerException">The cause.</param>
    public RelaySubscriptionException(string message, Exception innerException)
        : this("unknown", message, innerException)
    {
    }

    /// <summary>The stable error code, e.g. <c>invalid_topic</c> or <c>upstream_unavailable</c>.</summary>
    public string Code { get; }
}
