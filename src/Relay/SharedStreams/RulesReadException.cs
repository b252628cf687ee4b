using System.Net;

namespace Relay.SharedStreams;

/// <summary>PocketBase's collection rules could not be read: unreachable, the superuser sign-in refused, or an unreadable answer.</summary>
internal sealed class RulesReadException(string message, HttpStatusCode? status = null, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>PocketBase's status code, when it answered.</summary>
    public HttpStatusCode? Status { get; } = status;
}
