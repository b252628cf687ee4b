using System.Net;
using Relay.Client.Protocol;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>What Relay answers a client that presents a token, before any SignalR connection exists.</summary>
public static class HubNegotiation
{
    /// <summary>The status of the hub's <c>negotiate</c> with <paramref name="token"/> in the query (as browsers send it) or as a Bearer header.</summary>
    public static async Task<HttpStatusCode> StatusAsync(RelayServer relay, string token, bool asHeader)
    {
        using var http = new HttpClient { BaseAddress = relay.Url };
        var path = $"{RelayProtocol.HubPath}/negotiate?negotiateVersion=1";
        using var request = new HttpRequestMessage(HttpMethod.Post, asHeader ? path : $"{path}&access_token={Uri.EscapeDataString(token)}");
        if (asHeader)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request).DefaultTimeout();
        return response.StatusCode;
    }
}
