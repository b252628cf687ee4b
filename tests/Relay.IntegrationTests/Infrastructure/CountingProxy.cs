using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// An HTTP forwarder in front of PocketBase that counts what reaches it, per path suffix, and the most requests of a
/// kind in flight at once: the measure of what Relay costs PocketBase. Streams responses through (realtime works).
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new();
    private readonly ConcurrentDictionary<string, int> _maxInFlight = new();
    private readonly ConcurrentDictionary<string, string> _lastForwardedFor = new();

    private CountingProxy(WebApplication app, HttpClient client)
    {
        _app = app;
        _client = client;
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Requests whose path ends with <paramref name="suffix"/> (e.g. <c>/auth-refresh</c>) so far.</summary>
    public int Count(string suffix) => _counts.GetValueOrDefault(suffix);

    /// <summary>The most requests ending with <paramref name="suffix"/> that were in flight at once.</summary>
    public int MaxInFlight(string suffix) => _maxInFlight.GetValueOrDefault(suffix);

    /// <summary>The <c>X-Forwarded-For</c> of the last request ending with <paramref name="suffix"/> (empty when it had none).</summary>
    public string? LastForwardedFor(string suffix) => _lastForwardedFor.GetValueOrDefault(suffix);

    /// <summary>When set and it returns a status for a request's path, the proxy answers that status itself (counted, not forwarded).</summary>
    public Func<string, int?>? AnswerInstead { get; set; }

    public static async Task<CountingProxy> StartAsync(Uri target, params string[] countedSuffixes)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "CountingProxy" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = target, Timeout = Timeout.InfiniteTimeSpan };
        var proxy = new CountingProxy(app, client);
        app.Run(context => proxy.ForwardAsync(context, countedSuffixes));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
        _client.Dispose();
    }

    private async Task ForwardAsync(HttpContext context, string[] countedSuffixes)
    {
        var path = context.Request.Path.Value ?? "/";
        var counted = Array.Find(countedSuffixes, suffix => path.EndsWith(suffix, StringComparison.Ordinal));
        if (counted is not null)
        {
            _counts.AddOrUpdate(counted, 1, static (_, n) => n + 1);
            _lastForwardedFor[counted] = context.Request.Headers["X-Forwarded-For"].ToString();
            var now = _inFlight.AddOrUpdate(counted, 1, static (_, n) => n + 1);
            _maxInFlight.AddOrUpdate(counted, now, (_, max) => Math.Max(max, now));
        }

        try
        {
            if (AnswerInstead?.Invoke(path) is { } status)
            {
                context.Response.StatusCode = status;
                await context.Response.WriteAsJsonAsync(new { code = status, message = "Answered by the test proxy.", data = new { } });
                return;
            }

            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), path.TrimStart('/') + context.Request.QueryString);
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                request.Content = new StreamContent(context.Request.Body);
            }

            foreach (var (name, values) in context.Request.Headers)
            {
                if (!HopHeaders.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
                }
            }

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopHeaders.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                // Flushed per read: PocketBase's realtime stream must pass through as it is written.
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            // The caller or PocketBase went away.
        }
        finally
        {
            if (counted is not null)
            {
                _inFlight.AddOrUpdate(counted, 0, static (_, n) => n - 1);
            }
        }
    }
}
