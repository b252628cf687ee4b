using System.Net;

namespace Relay.Upstream;

/// <summary>PocketBase answered a realtime request with an unexpected status or content.</summary>
internal sealed class UpstreamException(string message, HttpStatusCode? statusCode = null, Exception? innerException = null)
    : Exception(message, innerException)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;
}
