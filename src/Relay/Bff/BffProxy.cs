using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Relay.PocketBase;
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
    private static readonly object FileTokenKey = new();

    private readonly IHttpForwarder _forwarder;
    private readonly BffSessions _sessions;
    private readonly BffFileTokens _fileTokens;
    private readonly IOptions<RelayOptions> _relayOptions;
    private readonly ILogger _logger;
    private readonly HttpMessageInvoker _client;
    private readonly string _destination;

    public BffProxy(IHttpForwarder forwarder, BffSessions sessions, BffFileTokens fileTokens, IOptions<PocketBaseOptions> pocketBaseOptions, IOptions<RelayOptions> relayOptions, ILogger<BffProxy> logger)
    {
        _forwarder = forwarder;
        _sessions = sessions;
        _fileTokens = fileTokens;
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
        if (resolution.Session is { } session && IsFileDownload(context.Request))
        {
            // PocketBase serves a protected file only with a file token in the query; Relay asks for one in the
            // session's name, since /api/files/token itself is not proxied.
            context.Items[FileTokenKey] = await _fileTokens.GetAsync(session, context.RequestAborted);
        }

        var error = await _forwarder.SendAsync(context, _destination, _client, ForwarderRequestConfig.Empty, Transformer.Instance);
        if (error != ForwarderError.None)
        {
            Log.ForwardFailed(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, error);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>A GET or HEAD of <c>/api/files/{collection}/{record}/{file}</c>.</summary>
    internal static bool IsFileDownload(HttpRequest request)
        => (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && (request.Path.Value ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries) is { Length: 5 } segments
            && segments[1].Equals("files", StringComparison.OrdinalIgnoreCase);

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

            if (httpContext.Items[FileTokenKey] is string fileToken)
            {
                // Replaces any token the page put in the query: the file is fetched as the session's user.
                var query = QueryHelpers.ParseQuery(httpContext.Request.QueryString.Value)
                    .Where(static pair => !pair.Key.Equals("token", StringComparison.OrdinalIgnoreCase))
                    .SelectMany(static pair => pair.Value.Select(value => KeyValuePair.Create(pair.Key, value)))
                    .Append(KeyValuePair.Create("token", (string?)fileToken));
                proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, httpContext.Request.Path, QueryString.Create(query));
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
