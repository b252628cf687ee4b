using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Relay.Upstream;
using Yarp.ReverseProxy.Forwarder;

namespace Relay.Bff;

/// <summary>
/// <c>/api/*</c> forwarded to PocketBase with YARP's direct forwarder, the session's token injected as
/// <c>Authorization</c>; responses (files included) stream back unchanged. Whatever <c>Authorization</c> or cookies the
/// browser sent are dropped: in BFF mode the cookie is the only credential, and it stays between browser and Relay.
/// </summary>
internal sealed partial class BffProxy : IDisposable
{
    private static readonly object TokenKey = new();

    private readonly IHttpForwarder _forwarder;
    private readonly BffSessions _sessions;
    private readonly IOptions<RelayOptions> _relayOptions;
    private readonly ILogger _logger;
    private readonly HttpMessageInvoker _client;
    private readonly string _destination;

    public BffProxy(IHttpForwarder forwarder, BffSessions sessions, IOptions<PocketBaseOptions> pocketBaseOptions, IOptions<RelayOptions> relayOptions, ILogger<BffProxy> logger)
    {
        _forwarder = forwarder;
        _sessions = sessions;
        _relayOptions = relayOptions;
        _logger = logger;
        _destination = pocketBaseOptions.Value.Url!.ToString();
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = pocketBaseOptions.Value.RequestTimeout,
        });
    }

    public async Task ForwardAsync(HttpContext context)
    {
        var refusal = BffCsrf.Check(context, _relayOptions.Value.AllowedOrigins);
        if (refusal is not null)
        {
            BffCsrf.Log.Refused(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, refusal);
            await new BffError(BffErrorCodes.CsrfRefused, refusal).WriteAsync(context, StatusCodes.Status403Forbidden);
            return;
        }

        if (NotProxied(context.Request.Path) is { } notProxied)
        {
            await notProxied.WriteAsync(context, StatusCodes.Status404NotFound);
            return;
        }

        BffResolution resolution;
        try
        {
            resolution = await _sessions.ResolveAsync(context);
        }
        catch (UpstreamException)
        {
            await new BffError(BffErrorCodes.UpstreamUnavailable, "PocketBase could not be reached; try again").WriteAsync(context, StatusCodes.Status503ServiceUnavailable);
            return;
        }

        if (resolution.Refused)
        {
            // A guest's answer here would silently show a signed-out view to a page that believes it is signed in.
            await BffSessions.ForgetCookieAsync(context);
            await new BffError(BffErrorCodes.SessionEnded, "the session has ended; sign in again").WriteAsync(context, StatusCodes.Status401Unauthorized);
            return;
        }

        if (resolution.Session is null && !_relayOptions.Value.AllowAnonymous)
        {
            await new BffError(BffErrorCodes.NotSignedIn, "not signed in (Relay:AllowAnonymous is off)").WriteAsync(context, StatusCodes.Status401Unauthorized);
            return;
        }

        context.Items[TokenKey] = resolution.Session?.Token;
        var error = await _forwarder.SendAsync(context, _destination, _client, ForwarderRequestConfig.Empty, Transformer.Instance);
        if (error != ForwarderError.None)
        {
            Log.ForwardFailed(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, error);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Paths the proxy refuses (<see cref="BffProxyPaths"/>).</summary>
    internal static BffError? NotProxied(PathString path) => BffProxyPaths.NotProxied(path);

    private sealed class Transformer : HttpTransformer
    {
        public static readonly Transformer Instance = new();

        /// <summary>Client addresses a browser could forge; Relay states the one it saw (after any trusted forwarding) instead.</summary>
        private static readonly string[] ClientAddressHeaders = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "CF-Connecting-IP", "Fly-Client-IP"];

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove("Authorization");
            proxyRequest.Headers.Remove("Cookie");
            proxyRequest.Headers.Remove(BffDefaults.CsrfHeader);
            foreach (var header in ClientAddressHeaders)
            {
                proxyRequest.Headers.Remove(header);
            }

            if (httpContext.Connection.RemoteIpAddress is { } address)
            {
                proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", address.ToString());
            }

            if (httpContext.Items[TokenKey] is string token)
            {
                proxyRequest.Headers.TryAddWithoutValidation("Authorization", token);
            }
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            // PocketBase answers every origin with "Access-Control-Allow-Origin: *"; on Relay's origin CORS is Relay's
            // decision (Relay:AllowedOrigins), made by its own middleware.
            if (proxyResponse is not null)
            {
                foreach (var header in proxyResponse.Headers.Select(static h => h.Key).Where(static name => name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)).ToList())
                {
                    proxyResponse.Headers.Remove(header);
                }
            }

            return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7040, LogLevel.Warning, "Forwarding {Method} {Path} to PocketBase failed: {Error}.")]
        public static partial void ForwardFailed(ILogger logger, string method, string path, ForwarderError error);
    }
}
