using System.Net;

namespace Relay.PocketBase;

/// <summary>PocketBase answered a realtime request with an unexpected status or content.</summary>
internal sealed class UpstreamException(string message, HttpStatusCode? statusCode = null, Exception? innerException = null)
    : Exception(message, innerException)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    /// <summary>
    /// PocketBase refused the request's content rather than failing: 400 (a topic too long, too many topics) or 403.
    /// For a subscription POST the stream survives (the set is left as it was), so the offending topic can be found.
    /// </summary>
    public bool IsRefusal => StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden;
}
