using System.Net;

namespace Relay.PocketBase;

/// <summary>PocketBase's health endpoint (<c>GET /api/health</c>); what its answer means for readiness is Hosting's.</summary>
internal sealed class PocketBaseHealthClient(IHttpClientFactory httpClientFactory)
{
    /// <summary>The status PocketBase answered with; a transport failure or cancellation is thrown as it came.</summary>
    public async Task<HttpStatusCode> GetStatusAsync(CancellationToken cancellationToken)
    {
        using var response = await httpClientFactory.CreateClient(PocketBaseHttp.RestClient).GetAsync("api/health", cancellationToken);
        return response.StatusCode;
    }
}
