using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using Microsoft.Extensions.Options;

namespace Relay.PocketBase;

/// <summary>
/// The two realtime calls of PocketBase: open the SSE stream, and replace a stream's subscription set. Both leave through
/// the same HTTP client and connection pool: current PocketBase ties a realtime client to the address that opened it
/// and refuses a subscription POST from another one.
/// </summary>
internal sealed class PocketBaseRealtimeClient(
    IHttpClientFactory httpClientFactory,
    IOptions<PocketBaseOptions> options,
    TimeProvider timeProvider)
{
    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");
    private readonly PocketBaseOptions _options = options.Value;

    /// <summary>
    /// Opens a stream and reads its <c>PB_CONNECT</c>. The stream lives until <paramref name="cancellationToken"/> is
    /// cancelled (or it is disposed); <paramref name="giveUp"/> only abandons the opening.
    /// </summary>
    public async Task<RealtimeStream> OpenStreamAsync(CancellationToken cancellationToken, CancellationToken giveUp = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/realtime");
        request.Headers.Accept.Add(EventStream);

        var client = httpClientFactory.CreateClient(PocketBaseHttp.StreamClient);
        HttpResponseMessage response;

        // The stream client has no overall timeout, so the wait for the response headers gets its own: a PocketBase
        // (or proxy) that accepts the connection and never answers must not hold a connect or a rotation forever.
        using (var headersTimeout = new CancellationTokenSource(_options.RequestTimeout, timeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, giveUp, headersTimeout.Token))
        {
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && !giveUp.IsCancellationRequested)
            {
                throw new UpstreamException($"PocketBase did not answer GET /api/realtime within {_options.RequestTimeout}.", innerException: ex);
            }
        }

        var readCancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        var stoppingRegistration = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), readCancellation);
        IAsyncEnumerator<SseItem<UpstreamMessage>>? items = null;
        try
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new UpstreamException($"PocketBase answered GET /api/realtime with {(int)response.StatusCode}.", response.StatusCode);
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            items = SseParser.Create(body, UpstreamMessageParser.Parse).EnumerateAsync(readCancellation.Token).GetAsyncEnumerator(readCancellation.Token);

            // PocketBase sends PB_CONNECT at once; waiting longer than a request timeout means the server is not well.
            readCancellation.CancelAfter(_options.RequestTimeout);
            bool started;
            await using (giveUp.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), readCancellation))
            {
                started = await items.MoveNextAsync();
            }

            giveUp.ThrowIfCancellationRequested();
            if (!started
                || items.Current.EventType != UpstreamMessageParser.ConnectEventType
                || items.Current.Data.ClientId is not { Length: > 0 } clientId)
            {
                throw new UpstreamException("PocketBase's realtime stream did not start with PB_CONNECT and a client id.");
            }

            return new RealtimeStream(clientId, response, items, readCancellation, stoppingRegistration, _options.IdleTimeout, timeProvider);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && !giveUp.IsCancellationRequested)
        {
            await DisposeAsync(response, items, readCancellation, stoppingRegistration);
            throw new UpstreamException("PocketBase did not send PB_CONNECT in time.", innerException: ex);
        }
        catch
        {
            await DisposeAsync(response, items, readCancellation, stoppingRegistration);
            throw;
        }
    }

    /// <summary>Replaces the subscription set of stream <paramref name="clientId"/>; the token decides what PocketBase lets through.</summary>
    public async Task SetSubscriptionsAsync(string clientId, IReadOnlyCollection<string> topics, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/realtime")
        {
            Content = JsonContent.Create(new SubscriptionRequest(clientId, topics), UpstreamJsonContext.Default.SubscriptionRequest),
        };
        if (token is not null)
        {
            // PocketBase takes the raw token; it also accepts a "Bearer " prefix, which it would only strip again.
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        // The stream client has no overall timeout (it carries the streams); this call gets its own.
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var client = httpClientFactory.CreateClient(PocketBaseHttp.StreamClient);
        try
        {
            using var response = await client.SendAsync(request, linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new UpstreamException(
                    $"PocketBase refused the subscription set ({topics.Count} topics) with {(int)response.StatusCode}: {await ReadErrorAsync(response, linked.Token)}",
                    response.StatusCode);
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamException($"PocketBase did not answer the subscription POST within {_options.RequestTimeout}.", innerException: ex);
        }
    }

    /// <summary>
    /// Asks PocketBase whether <paramref name="filter"/> is a valid filter of <paramref name="collection"/>, with a one-row
    /// list request under the subscriber's own token. PocketBase accepts any filter in a subscription POST and then
    /// silently delivers nothing for one it cannot evaluate; the list endpoint answers 400 for the same filter.
    /// </summary>
    /// <returns>PocketBase's refusal, or null when it did not refuse the filter (any other answer or failure is left to the subscription itself).</returns>
    public async Task<UpstreamException?> CheckFilterAsync(string collection, string filter, string? token, CancellationToken cancellationToken)
    {
        var uri = $"api/collections/{Uri.EscapeDataString(collection)}/records?page=1&perPage=1&skipTotal=1&fields=id&filter={Uri.EscapeDataString(filter)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        using var timeout = new CancellationTokenSource(_options.RequestTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await httpClientFactory.CreateClient(PocketBaseHttp.StreamClient).SendAsync(request, linked.Token);
            return response.StatusCode == HttpStatusCode.BadRequest
                ? new UpstreamException($"PocketBase rejects the filter: {await ReadErrorAsync(response, linked.Token)}", response.StatusCode)
                : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    internal static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // PocketBase's error bodies are short JSON ({"code","message","data"}); they never echo the token.
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length <= 500 ? text : text[..500];
    }

    private static async ValueTask DisposeAsync(
        HttpResponseMessage response,
        IAsyncEnumerator<SseItem<UpstreamMessage>>? items,
        CancellationTokenSource readCancellation,
        CancellationTokenRegistration stoppingRegistration)
    {
        await stoppingRegistration.DisposeAsync();
        readCancellation.Cancel();
        if (items is not null)
        {
            try
            {
                await items.DisposeAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                // Already failing; the original exception is the one worth reporting.
            }
        }

        response.Dispose();
        readCancellation.Dispose();
    }
}
