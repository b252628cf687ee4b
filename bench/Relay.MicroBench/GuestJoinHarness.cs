using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.PocketBase;
using Relay.Routing;
using Relay.Sessions;
using Relay.Upstream;

namespace Relay.MicroBench;

/// <summary>
/// N guest connections joining one topic of the guest session (UserSession.SubscribeAsync, the path a hub Subscribe
/// takes), against an in-process PocketBase that accepts everything. A plain Stopwatch harness: the old code's O(n²)
/// makes BenchmarkDotNet's repeated iterations take too long.
/// dotnet run -c Release --project bench/Relay.MicroBench -- --guest-join [N]
/// </summary>
internal static class GuestJoinHarness
{
    public static async Task RunAsync(int count)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RelayMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TimeProvider.System);
        var options = Options.Create(new PocketBaseOptions { Url = new Uri("http://pocketbase.bench/") });
        var fake = new AcceptingPocketBase();
        var client = new PocketBaseRealtimeClient(fake, options, TimeProvider.System);
        var pipeline = new UpstreamConnectPipeline(options, TimeProvider.System, metrics);
        var fanout = new FanoutDispatcher(Options.Create(new FanoutOptions()), metrics);
        await using var session = new UserSession(
            SessionKey.Guest,
            null,
            DateTimeOffset.MaxValue,
            s => new UpstreamConnection(s, client, pipeline, options, TimeProvider.System, metrics, NullLogger<UpstreamConnection>.Instance),
            fanout,
            1000,
            1,
            TimeProvider.System,
            client,
            new MemorySessionEventLog(new HistoryOptions { MaxEvents = 0 }, TimeProvider.System),
            TimeSpan.Zero);

        var connections = new RelayConnection[count];
        for (var i = 0; i < count; i++)
        {
            var context = new HubConnectionContext(new DefaultConnectionContext($"c{i}"), new HubConnectionContextOptions(), NullLoggerFactory.Instance);
            connections[i] = new RelayConnection(context, new FanoutOptions(), 100, TimeProvider.System, metrics, NullLogger.Instance);
            session.AddConnection(connections[i]);
        }

        var request = new TopicSubscription("announcements/*", "announcements/*");
        // The first join opens the upstream stream; it is not part of what is measured.
        await session.SubscribeAsync(connections[0], request, 100, TimeSpan.FromSeconds(30), CancellationToken.None);

        var started = Stopwatch.GetTimestamp();
        var pending = new Task[count - 1];
        for (var i = 1; i < count; i++)
        {
            pending[i - 1] = session.SubscribeAsync(connections[i], request, 100, TimeSpan.FromSeconds(30), CancellationToken.None);
        }

        await Task.WhenAll(pending);
        var joined = Stopwatch.GetElapsedTime(started);

        started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            session.Unsubscribe(connections[i], "announcements/*");
        }

        var left = Stopwatch.GetElapsedTime(started);
        Console.WriteLine($"guest join: {count - 1} connections joined one topic in {joined.TotalMilliseconds:0} ms; {count} left it in {left.TotalMilliseconds:0} ms");
    }

    private sealed class AcceptingPocketBase : HttpMessageHandler, IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://pocketbase.bench/") };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get)
            {
                var pipe = new Pipe();
                await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("id:bench\nevent:PB_CONNECT\ndata:{\"clientId\":\"bench\"}\n\n"), cancellationToken);
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(pipe.Reader.AsStream()) };
            }

            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }
    }
}
