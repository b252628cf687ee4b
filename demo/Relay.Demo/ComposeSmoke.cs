using System.Threading.Channels;
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
        using var admin = await PocketBaseAdmin.ConnectAsync(settings.PocketBase, cancellationToken);
        var editor = await admin.LoginUserAsync("editor@demo.test", DemoSettings.UserPassword, cancellationToken);
        var viewer = await admin.LoginUserAsync("viewer@demo.test", DemoSettings.UserPassword, cancellationToken);
        if (tokensFile is not null)
        {
            // For the caller to prove these never reach Relay's logs.
            await File.WriteAllLinesAsync(tokensFile, [editor.Token, viewer.Token], cancellationToken);
        }

        var received = Channel.CreateUnbounded<RelayEvent>();
        var guestReceived = Channel.CreateUnbounded<RelayEvent>();
        await using var viewerClient = new RelayClient(new RelayClientOptions { Url = settings.Relay, AccessTokenProvider = _ => ValueTask.FromResult<string?>(viewer.Token) });
        await using var guestClient = new RelayClient(new RelayClientOptions { Url = settings.Relay });
        await viewerClient.StartAsync(cancellationToken);
        await guestClient.StartAsync(cancellationToken);
        await using var viewerSubscription = await viewerClient.SubscribeAsync("patients/*", e => received.Writer.WriteAsync(e).AsTask(), cancellationToken: cancellationToken);
        await using var guestSubscription = await guestClient.SubscribeAsync("patients/*", e => guestReceived.Writer.WriteAsync(e).AsTask(), cancellationToken: cancellationToken);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var patient = await admin.CreateRecordAsync("patients", new { name = "Ada Lovelace", owner = editor.Id }, editor.Token, cancellationToken);
        var id = patient.GetProperty("id").GetString()!;
        await Expect(received, "create", id, cancellationToken);
        var latency = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await admin.UpdateRecordAsync("patients", id, new { notes = "follow-up in May" }, editor.Token, cancellationToken);
        await Expect(received, "update", id, cancellationToken);
        await admin.DeleteRecordAsync("patients", id, editor.Token, cancellationToken);
        await Expect(received, "delete", id, cancellationToken);

        if (guestReceived.Reader.TryRead(out var leaked))
        {
            Console.WriteLine($"compose smoke: FAILED (a guest received {leaked.Action} of {leaked.Record.GetProperty("id")})");
            return 1;
        }

        Console.WriteLine($"compose smoke: OK (editor's create reached the viewer through Relay in {latency:0.0} ms; update and delete too; the guest got nothing)");
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
