using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Connections;
using Relay.Auth;

namespace Relay.Hubs;

/// <summary>
/// In front of the hub's endpoints, after authentication: a connection's identity is fixed at negotiate, and every later
/// request for it (poll, send, SSE stream, WebSocket, close) must present the same one, else 403
/// <c>connection_identity_mismatch</c> before SignalR sees it. A cookie connection may also be held to
/// <c>Relay:Bff:CookieTransports</c>: negotiate then offers only those, and other transports are refused (403
/// <c>transport_not_allowed</c>). Per request: one dictionary lookup and one hash, no call to PocketBase or the store.
/// </summary>
internal sealed partial class ConnectionIdentityGate(HubConnectionIdentities identities, ICredentialSource credentials, ILogger<ConnectionIdentityGate> logger)
{
    public const string IdentityMismatch = "connection_identity_mismatch";
    public const string UnknownConnection = "unknown_connection";
    public const string TransportNotAllowed = "transport_not_allowed";

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var identity = HubIdentity.Of(context);
        if (context.Request.Path.Value?.EndsWith("/negotiate", StringComparison.Ordinal) == true)
        {
            return NegotiateAsync(context, next, identity);
        }

        var transport = TransportOf(context);
        var token = context.Request.Query["id"].ToString();
        if (string.IsNullOrEmpty(token))
        {
            // A WebSocket opened without negotiate is one request: its identity cannot change under it.
            return identity.ByCookie && !IsAllowedForCookies(transport) ? RefuseAsync(context, transport) : next(context);
        }

        if (!identities.TryGet(token, out var negotiated))
        {
            return new HubHttpError(UnknownConnection, "no connection with this id was negotiated here (or it has ended)").WriteAsync(context, StatusCodes.Status404NotFound);
        }

        if (!negotiated.SameAs(identity))
        {
            Log.IdentityMismatch(logger, context.Request.Method, transport);
            return new HubHttpError(IdentityMismatch, "this connection was negotiated by another identity (session, user or guest); negotiate a connection of your own")
                .WriteAsync(context, StatusCodes.Status403Forbidden);
        }

        return negotiated.ByCookie && !IsAllowedForCookies(transport) ? RefuseAsync(context, transport) : next(context);
    }

    private async Task NegotiateAsync(HttpContext context, RequestDelegate next, HubIdentity identity)
    {
        // The connection token exists only in negotiate's answer (a small JSON object), so the answer is held to read it.
        var body = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = body;
        }

        var answer = buffer.ToArray();
        if (context.Response.StatusCode == StatusCodes.Status200OK && answer.Length > 0 && JsonNode.Parse(answer) is JsonObject negotiated
            && negotiated["connectionId"]?.GetValue<string>() is { } connectionId)
        {
            // Clients of negotiate version 0 put the connection id in ?id=, later ones the token.
            identities.Negotiated(negotiated["connectionToken"]?.GetValue<string>() ?? connectionId, connectionId, identity);
            if (identity.ByCookie && credentials.Transports != CredentialItems.AllTransports && negotiated["availableTransports"] is JsonArray offered)
            {
                foreach (var transport in offered.Where(t => !(Enum.TryParse<HttpTransportType>(t?["transport"]?.GetValue<string>(), out var named) && IsAllowedForCookies(named))).ToList())
                {
                    offered.Remove(transport);
                }

                answer = System.Text.Encoding.UTF8.GetBytes(negotiated.ToJsonString());
            }
        }

        context.Response.ContentLength = answer.Length;
        await body.WriteAsync(answer, context.RequestAborted);
    }

    private bool IsAllowedForCookies(HttpTransportType transport) => (credentials.Transports & transport) != 0;

    private Task RefuseAsync(HttpContext context, HttpTransportType transport)
    {
        Log.TransportRefused(logger, transport);
        return new HubHttpError(TransportNotAllowed, $"a connection authenticated by the session cookie may only use {credentials.Transports} (Relay:Bff:CookieTransports)")
            .WriteAsync(context, StatusCodes.Status403Forbidden);
    }

    /// <summary>Which transport a request belongs to; a POST (send) or DELETE (close) is one of the HTTP transports, either.</summary>
    private static HttpTransportType TransportOf(HttpContext context)
    {
        // Not context.WebSockets: SignalR adds the WebSockets middleware inside its own endpoint, after this gate.
        if (HttpMethods.IsConnect(context.Request.Method) || context.Request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase))
        {
            return HttpTransportType.WebSockets;
        }

        if (HttpMethods.IsGet(context.Request.Method))
        {
            return context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase)
                ? HttpTransportType.ServerSentEvents
                : HttpTransportType.LongPolling;
        }

        return HttpMethods.IsDelete(context.Request.Method) ? HttpTransportType.LongPolling : HttpTransportType.LongPolling | HttpTransportType.ServerSentEvents;
    }

    private static partial class Log
    {
        [LoggerMessage(5010, LogLevel.Warning, "Refused a {Method} hub request ({Transport}) on a connection negotiated by another identity.")]
        public static partial void IdentityMismatch(ILogger logger, string method, HttpTransportType transport);

        [LoggerMessage(5011, LogLevel.Information, "Refused a cookie-authenticated hub request over {Transport} (Relay:Bff:CookieTransports).")]
        public static partial void TransportRefused(ILogger logger, HttpTransportType transport);
    }
}
