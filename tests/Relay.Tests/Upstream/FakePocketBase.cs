using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Relay.Tests.Upstream;

/// <summary>
/// An HTTP handler that plays PocketBase's realtime endpoints: every <c>GET /api/realtime</c> gets a live SSE stream
/// the test writes to; every <c>POST /api/realtime</c> is recorded and answered 204 (or as <see cref="PostStatus"/> says).
/// </summary>
internal sealed class FakePocketBase : HttpMessageHandler, IHttpClientFactory
{
    private int _streams;

    public Channel<SseStream> Streams { get; } = Channel.CreateUnbounded<SseStream>();

    public Channel<(string ClientId, string[] Topics, string? Authorization)> Posts { get; } = Channel.CreateUnbounded<(string, string[], string?)>();

    public HttpStatusCode PostStatus { get; set; } = HttpStatusCode.NoContent;

    public HttpStatusCode StreamStatus { get; set; } = HttpStatusCode.OK;

    /// <summary>When set, a <c>GET /api/realtime</c> is accepted and never answered (a stuck PocketBase or proxy).</summary>
    public bool HangStreams { get; set; }

    /// <summary>Runs before a <c>GET /api/realtime</c> is answered: lets a test hold a stream's opening.</summary>
    public Func<Task>? BeforeStreamAnswered { get; set; }

    /// <summary>Runs before a successful POST is answered (client id, topics): lets a test act while a POST is in flight.</summary>
    public Func<string, string[], Task>? BeforePostAnswered { get; set; }

    /// <summary>Answers a POST (topics, Authorization) with another status than <see cref="PostStatus"/>; null keeps it.</summary>
    public Func<string[], string?, HttpStatusCode?>? PostResponder { get; set; }

    /// <summary>
    /// Current PocketBase's validation of the subscription POST: more than 1,000 topics or one longer than 2,500
    /// characters makes the whole POST a 400 and leaves the client's set as it was.
    /// </summary>
    public static HttpStatusCode? CurrentPocketBaseValidation(string[] topics, string? authorization)
        => topics.Length > 1000 || topics.Any(static topic => topic.Length > 2500) ? HttpStatusCode.BadRequest : null;

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Answers <c>POST /api/collections/{collection}/auth-refresh</c> (the Authorization header in); 404 when unset.</summary>
    public Func<string?, HttpResponseMessage>? AuthRefresh { get; set; }

    /// <summary>Topic sets of POSTs answered with anything but 204 (those are not in <see cref="Posts"/>).</summary>
    public ConcurrentQueue<string[]> Refusals { get; } = new();

    /// <summary>
    /// Current PocketBase's stream limits, enforced on <see cref="Clock"/>: a stream is ended once nothing was written on
    /// it for <see cref="IdleLimit"/> (5 min, hard-coded in every version) or once it is <see cref="LifetimeLimit"/>
    /// old (30 min from 0.39). Null: no limit.
    /// </summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    public TimeSpan? IdleLimit { get; set; }

    public TimeSpan? LifetimeLimit { get; set; }

    /// <summary>Streams this fake ended because of <see cref="IdleLimit"/> or <see cref="LifetimeLimit"/>.</summary>
    public int ClosedByLimit => Volatile.Read(ref _closedByLimit);

    private int _closedByLimit;

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://pocketbase.test/") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue($"{request.Method} {request.RequestUri!.AbsolutePath}");
        if (request.Method == HttpMethod.Get && request.RequestUri.AbsolutePath == "/api/realtime")
        {
            if (BeforeStreamAnswered is { } beforeStream)
            {
                await beforeStream();
            }

            if (HangStreams)
            {
                await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, cancellationToken);
            }

            if (StreamStatus != HttpStatusCode.OK)
            {
                return new HttpResponseMessage(StreamStatus);
            }

            var stream = new SseStream($"client{Interlocked.Increment(ref _streams)}");
            await stream.WriteAsync("PB_CONNECT", $$"""{"clientId":"{{stream.ClientId}}"}""");
            stream.EnforceLimits(Clock, IdleLimit, LifetimeLimit, () => Interlocked.Increment(ref _closedByLimit));
            Streams.Writer.TryWrite(stream);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(stream.Pipe.Reader.AsStream()) };
        }

        if (request.Method == HttpMethod.Post && request.RequestUri.AbsolutePath == "/api/realtime")
        {
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            var topics = body.RootElement.GetProperty("subscriptions").EnumerateArray().Select(t => t.GetString()!).ToArray();
            request.Headers.TryGetValues("Authorization", out var auth);
            var authorization = auth?.FirstOrDefault();
            var status = PostResponder?.Invoke(topics, authorization) ?? PostStatus;
            if (status == HttpStatusCode.NoContent)
            {
                if (BeforePostAnswered is { } before)
                {
                    await before(body.RootElement.GetProperty("clientId").GetString()!, topics);
                }

                Posts.Writer.TryWrite((body.RootElement.GetProperty("clientId").GetString()!, topics, authorization));
            }
            else
            {
                Refusals.Enqueue(topics);
            }

            return new HttpResponseMessage(status) { Content = new StringContent("{}") };
        }

        if (request.Method == HttpMethod.Post && request.RequestUri.AbsolutePath.EndsWith("/auth-refresh", StringComparison.Ordinal) && AuthRefresh is { } refresh)
        {
            request.Headers.TryGetValues("Authorization", out var auth);
            return refresh(auth?.FirstOrDefault());
        }

        return new HttpResponseMessage(HttpStatusCode.NotFound);
    }

    internal sealed class SseStream(string clientId)
    {
        private ITimer? _idle;
        private ITimer? _lifetime;
        private TimeSpan? _idleLimit;
        private int _closed;

        public string ClientId { get; } = clientId;

        public Pipe Pipe { get; } = new();

        public bool IsClosed => Volatile.Read(ref _closed) == 1;

        public async Task WriteAsync(string eventType, string data)
        {
            // As PocketBase: only a message sent on the stream resets its idle timer.
            if (_idleLimit is { } idle)
            {
                _idle?.Change(idle, Timeout.InfiniteTimeSpan);
            }

            await Pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes($"id:{ClientId}\nevent:{eventType}\ndata:{data}\n\n"));
        }

        public void EnforceLimits(TimeProvider clock, TimeSpan? idle, TimeSpan? lifetime, Action closedByLimit)
        {
            _idleLimit = idle;
            void CloseByLimit()
            {
                if (Interlocked.Exchange(ref _closed, 1) == 0)
                {
                    // A stream Relay already let go of (its reader completed) is not one PocketBase cut.
                    if (!Pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult().IsCompleted)
                    {
                        closedByLimit();
                    }

                    Pipe.Writer.Complete();
                }
            }

            if (idle is { } idleLimit)
            {
                _idle = clock.CreateTimer(_ => CloseByLimit(), null, idleLimit, Timeout.InfiniteTimeSpan);
            }

            if (lifetime is { } lifetimeLimit)
            {
                _lifetime = clock.CreateTimer(_ => CloseByLimit(), null, lifetimeLimit, Timeout.InfiniteTimeSpan);
            }
        }

        public Task WriteRecordAsync(string topic, string action, string id, string title = "")
            => WriteAsync(topic, $$$"""{"action":"{{{action}}}","record":{"id":"{{{id}}}","collectionName":"notes","title":"{{{title}}}"}}""");

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Pipe.Writer.Complete();
            }
        }
    }
}
