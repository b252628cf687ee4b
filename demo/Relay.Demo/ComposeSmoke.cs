using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.Testing.PocketBase;

namespace Relay.Demo;

/// <summary>
/// The compose stack's smoke test (deploy/smoke.sh): with the stack's own demo schema and users, an editor's changes
/// to <c>patients</c> reach a viewer through the composed Relay, and a guest receives nothing.
/// </summary>
internal static class ComposeSmoke
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static async Task<int> RunAsync(DemoSettings settings, string? tokensFile, CancellationToken cancellationToken)
    {
        double latency;
        using var admin = await PocketBaseAdmin.ConnectAsync(settings.PocketBase, cancellationToken);
        var editor = await admin.LoginUserAsync("editor@demo.test", DemoSettings.UserPassword, cancellationToken);
        var viewer = await admin.LoginUserAsync("viewer@demo.test", DemoSettings.UserPassword, cancellationToken);
        if (tokensFile is not null)
        {
            // For the caller to prove these never reach Relay's logs.
            await File.WriteAllLinesAsync(tokensFile, [editor.Token, viewer.Token], cancellationToken);
        }

        // Scale-out: several viewer connections through the load balancer (round robin, so they land on every instance),
        // WebSockets only (no negotiate request that could land on another instance than the connection).
        var viewers = settings.ScaleOut ? 4 : 1;
        var transports = settings.ScaleOut ? HttpTransportType.WebSockets : new RelayClientOptions().Transports;
        var received = new List<Channel<RelayEvent>>();
        var clients = new List<RelayClient>();
        var subscriptions = new List<IAsyncDisposable>();
        var guestReceived = Channel.CreateUnbounded<RelayEvent>();
        try
        {
            for (var i = 0; i < viewers; i++)
            {
                var channel = Channel.CreateUnbounded<RelayEvent>();
                var client = new RelayClient(new RelayClientOptions { Url = settings.Relay, Transports = transports, AccessTokenProvider = _ => ValueTask.FromResult<string?>(viewer.Token) });
                clients.Add(client);
                await client.StartAsync(cancellationToken);
                subscriptions.Add(await client.SubscribeAsync("patients/*", e => channel.Writer.WriteAsync(e).AsTask(), cancellationToken: cancellationToken));
                received.Add(channel);
            }

            var guestClient = new RelayClient(new RelayClientOptions { Url = settings.Relay, Transports = transports });
            clients.Add(guestClient);
            await guestClient.StartAsync(cancellationToken);
            subscriptions.Add(await guestClient.SubscribeAsync("patients/*", e => guestReceived.Writer.WriteAsync(e).AsTask(), cancellationToken: cancellationToken));

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var patient = await admin.CreateRecordAsync("patients", new { name = "Ada Lovelace", owner = editor.Id }, editor.Token, cancellationToken);
            var id = patient.GetProperty("id").GetString()!;
            foreach (var channel in received)
            {
                await Expect(channel, "create", id, cancellationToken);
            }

            latency = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            await admin.UpdateRecordAsync("patients", id, new { notes = "follow-up in May" }, editor.Token, cancellationToken);
            foreach (var channel in received)
            {
                await Expect(channel, "update", id, cancellationToken);
            }

            await admin.DeleteRecordAsync("patients", id, editor.Token, cancellationToken);
            foreach (var channel in received)
            {
                await Expect(channel, "delete", id, cancellationToken);
            }
        }
        finally
        {
            foreach (var subscription in subscriptions)
            {
                await subscription.DisposeAsync();
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        if (guestReceived.Reader.TryRead(out var leaked))
        {
            Console.WriteLine($"compose smoke: FAILED (a guest received {leaked.Action} of {leaked.Record.GetProperty("id")})");
            return 1;
        }

        Console.WriteLine($"compose smoke: OK (editor's create reached {viewers} viewer connection(s) through Relay in {latency:0.0} ms; update and delete too; the guest got nothing)");
        return 0;
    }

    private static async Task Expect(Channel<RelayEvent> events, string action, string id, CancellationToken cancellationToken)
    {
        var next = await events.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(Timeout, cancellationToken);
        if (next.Action != action || next.Record.GetProperty("id").GetString() != id)
        {
            throw new InvalidOperationException($"expected {action} of {id}, got {next.Action} of {next.Record.GetProperty("id")}");
        }
    }
}
