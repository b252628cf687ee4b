using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// What the fakes assumed about PocketBase's realtime endpoint, checked against the real one of the run: the topic
/// length limit and the realtime client bound to one address (0.39+). A plain client straight to PocketBase shows what
/// PocketBase does; Relay must stay within it.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed partial class PocketBaseLiveRealtimeTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    private const int Limit = 2500;

    [Fact]
    public async Task TopicOf2500Characters_AcceptedAndDelivered_2501RefusedUpFront_OnlyThatCallFails()
    {
        // PocketBase itself: 2,500 characters pass; one more fails the whole POST on 0.23+ (0.22 has no limit).
        await using (var direct = await RawRealtimeClient.OpenAsync(pocketBase.Server.Url))
        {
            Assert.Equal(HttpStatusCode.NoContent, await direct.SubscribeAsync(["announcements/*", PaddedTopic(Limit)]));
            Assert.Equal(
                pocketBase.Server.Version.HasSuperuserCollection ? HttpStatusCode.BadRequest : HttpStatusCode.NoContent,
                await direct.SubscribeAsync(["announcements/*", PaddedTopic(Limit + 1)]));
        }

        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var lost = new MetricCollector<long>(meters, "Relay", "relay.upstream.streams_lost");
        var user = await pocketBase.CreateUserAsync("topiclimit");
        var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        var limited = await relay.ConnectAsync(user.Token);
        var guest = await relay.ConnectAsync(token: null);
        await guest.SubscribeAsync("announcements/*");

        // Relay's topic is "notes/*?options=" + the URL-encoded JSON of the options: find the filter padding that makes
        // it exactly 2,500 characters from what Relay reports for a longer one.
        var probe = await Assert.ThrowsAsync<HubException>(() => limited.SubscribeAsync("notes/*", FilterOptions(spaces: 900, letters: 0)));
        Assert.Equal(RelayErrorCodes.InvalidOptions, RelayErrorCodes.FromMessage(probe.Message));
        var fixedPart = int.Parse(TopicLength().Match(probe.Message).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - (3 * 900);
        var spaces = (Limit - fixedPart) / 3;
        var letters = Limit - fixedPart - (3 * spaces);

        Assert.Equal(RelayErrorCodes.InvalidOptions, await limited.SubscribeExpectingErrorAsync("notes/*", FilterOptions(spaces, letters + 1)));
        await limited.SubscribeAsync("notes/*", FilterOptions(spaces, letters));

        // The 2,500-character topic is live in PocketBase (its filter lets this note through), and the refused call
        // cost no one anything.
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "within the limit", owner = user.Id }).DefaultTimeout();
        await limited.NextEventAsync("create", note.GetProperty("id").GetString()!);
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "for everyone" }).DefaultTimeout();
        await guest.NextEventAsync("create", announcement.GetProperty("id").GetString()!);
        Assert.False(tab.Resyncs.TryRead(out _) || limited.Resyncs.TryRead(out _) || guest.Resyncs.TryRead(out _), "no Resync");
        Assert.Empty(lost.GetMeasurementSnapshot());
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RealtimeClientBoundToItsAddress_RelayPostsFromTheStreamsOwnAddress_ThroughChangesAndRotations()
    {
        // Every step with its time, printed with Relay's stream logs if the test fails (which await hung, and why).
        var steps = new List<string>();
        void Step(string step) => steps.Add($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {step}");
        RelayServer? started = null;
        try
        {
            await RealtimeClientBoundToItsAddressAsync(Step, relay => started = relay);
        }
        catch (Exception) when (Report(steps, started))
        {
            throw;
        }
    }

    private async Task RealtimeClientBoundToItsAddressAsync(Action<string> step, Action<RelayServer> onStarted)
    {
        // PocketBase itself: 0.39+ refuses a subscription POST for a client from any address but the stream's
        // (400 "Invalid realtime client."); 0.22 takes it from anywhere. A container's published port reaches
        // PocketBase through Docker's proxy, which gives every connection the same source address, so this check runs
        // against a PocketBase process of the same version that sees 127.0.0.1 and 127.0.0.2 apart.
        step("own PocketBase process");
        await using var ownProcess = pocketBase.Server.Mode == "process"
            ? null
            : await PocketBaseServer.StartAsync("process", pocketBase.Server.Version).WaitAsync(TimeSpan.FromSeconds(90));
        var plain = ownProcess ?? pocketBase.Server;
        step("direct client");
        await using (var direct = await RawRealtimeClient.OpenAsync(plain.Url, IPAddress.Loopback))
        {
            using var elsewhere = RawRealtimeClient.CreateHttpClient(plain.Url, IPAddress.Parse("127.0.0.2"));
            Assert.Equal(
                pocketBase.Server.Version.BindsRealtimeClientToAddress ? HttpStatusCode.BadRequest : HttpStatusCode.NoContent,
                await direct.SubscribeAsync(["announcements/*"], http: elsewhere));
            Assert.Equal(HttpStatusCode.NoContent, await direct.SubscribeAsync(["announcements/*"]));
        }

        // Relay: stream and POSTs leave from the same process, so every subscription change and every rotation (a new
        // stream, its subscriptions posted again) is accepted.
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:PocketBase:RotateAfterLifetime"] = "00:00:02",
            ["Relay:PocketBase:RotationOverlap"] = "00:00:00.300",
        });
        onStarted(relay);
        var meters = relay.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var rotations = new MetricCollector<long>(meters, "Relay", "relay.upstream.rotations");
        using var lost = new MetricCollector<long>(meters, "Relay", "relay.upstream.streams_lost");
        step("user, tab, notes/*");
        var user = await pocketBase.CreateUserAsync("bound");
        var tab = await relay.ConnectAsync(user.Token);
        await tab.SubscribeAsync("notes/*");
        var changes = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (rotations.GetMeasurementSnapshot().Count < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"rotations so far: {rotations.GetMeasurementSnapshot().Count}");
            step("subscribe");
            await tab.SubscribeAsync("announcements/*");
            step("unsubscribe");
            await tab.UnsubscribeAsync("announcements/*");
            changes += 2;
            step("create note");
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"n{changes}", owner = user.Id }).DefaultTimeout();
            step($"wait for create of {note.GetProperty("id").GetString()}");
            await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
            await Task.Delay(200);
        }

        var line = $"realtime client bound to an address (real PocketBase {pocketBase.Server.Version}): {changes} subscription changes and "
            + $"{rotations.GetMeasurementSnapshot().Count} rotations through Relay, every POST accepted, every event delivered, unplanned losses {lost.GetMeasurementSnapshot().Count}";
        output.WriteLine(line);
        await TestResults.AppendAsync(line);
        Assert.False(tab.Resyncs.TryRead(out _), "no Resync");
        Assert.Empty(lost.GetMeasurementSnapshot());
        Assert.DoesNotContain(relay.Logs.Entries, e => e.EventId.Name == "RotationFailed");
        relay.AssertNoErrorLogs();
    }

    /// <summary>Prints the test's steps and Relay's stream logs, so a failure says which await hung and what the stream did; never handles the exception.</summary>
    private bool Report(List<string> steps, RelayServer? relay)
    {
        output.WriteLine("Steps:\n" + string.Join('\n', steps) + "\nRelay's stream:\n" + relay?.Logs.RenderUpstream());
        return false;
    }

    /// <summary>A topic of exactly <paramref name="length"/> characters as PocketBase receives it (the options part is never parsed before the limit is checked).</summary>
    private static string PaddedTopic(int length)
    {
        const string Prefix = "announcements/*?options=";
        return Prefix + new string('a', length - Prefix.Length);
    }

    /// <summary>
    /// A filter that lets every note through, padded with spaces (each URL-encoded as three characters) and letters
    /// (one each) inside a string literal.
    /// </summary>
    private static SubscriptionOptions FilterOptions(int spaces, int letters)
        => new() { Query = new Dictionary<string, string> { ["filter"] = "title" + new string(' ', spaces) + "!= 'x" + new string('x', letters) + "'" } };

    [GeneratedRegex(@"is (\d+) characters")]
    private static partial Regex TopicLength();
}
