using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Relay.IntegrationTests;

/// <summary>
/// A table of hostile and sloppy input. Every case is refused with its code (or, for what breaks the SignalR framing
/// itself, the offending connection is closed); nothing crashes and a bystander keeps receiving its events.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class BadInputTests(PocketBaseFixture pocketBase, ITestOutputHelper output)
{
    public static IEnumerable<string?> MalformedTopics()
    {
        string?[] listed =
        [
            null, "", " ", "notes", "notes/", "/*", "/", "*", "*/*", "notes/**", "notes/* ", " notes/*", "notes /*",
            "notes/*?options={}", "notes/*?options=%7B%7D", "notes/a/b", "notes//", "notes/../users", "../notes/*",
            "notes/%2A", "notes/%20", "notes\\*", "notes/*\n", "notes/\u0000", "nötes/*", "notes/ü", "notes/\u202e",
            "notes/' OR 1=1 --", "notes/\"x\"", "notes/{}", "notes/[1]", "notes/a.b", "notes/a,b", "notes/a@b",
            "notes/#", "notes/$", "notes/&", "notes/|", "notes/;", "notes/:", "notes/=", "notes/+", "notes/~",
            "<script>/*", "no-tes/*", "no.tes/*", "notes*/*", new string('a', 101) + "/*", "notes/" + new string('b', 101),
            new string('x', 5000), "notes/*/*", "https://evil/*", "notes/* ?expand=owner", "\t/*", "notes/\r",
        ];
        foreach (var topic in listed)
        {
            yield return topic;
        }

        foreach (var c in "!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~ \t")
        {
            yield return $"no{c}tes/abc";
            if (c != '*')
            {
                yield return $"notes/ab{c}c";
            }
        }
    }

    [Fact]
    public async Task HostileInput_EveryCaseRefusedWithItsCode_NothingCrashes_BystanderUnaffected()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?>
        {
            ["Relay:HubCallsPerSecond"] = "10000",
            ["Relay:MaxSubscriptionsPerConnection"] = "5",
            ["Relay:MaxConnectionsPerUser"] = "3",
        });
        var bystander = await relay.ConnectAsync(pocketBase.Bob.Token);
        await bystander.SubscribeAsync("notes/*");
        var attacker = await relay.ConnectAsync(pocketBase.Alice.Token);
        var cases = 0;

        async Task Expect(string expectedCode, Func<Task> call, string description)
        {
            cases++;
            var ex = await Record.ExceptionAsync(call) as HubException;
            Assert.True(ex is not null, $"{description}: not refused");
            Assert.True(RelayErrorCodes.FromMessage(ex.Message) == expectedCode, $"{description}: expected {expectedCode}, got '{ex.Message}'");
        }

        foreach (var topic in MalformedTopics())
        {
            await Expect(RelayErrorCodes.InvalidTopic, () => attacker.SubscribeAsync(topic!), $"Subscribe({topic})");
            await Expect(RelayErrorCodes.InvalidTopic, () => attacker.UnsubscribeAsync(topic!), $"Unsubscribe({topic})");
        }

        var badOptions = new List<SubscriptionOptions>
        {
            new() { Query = new Dictionary<string, string> { ["filter"] = new string('x', 1100) } },
            new() { Headers = new Dictionary<string, string> { ["x-big"] = new string('y', 2000) } },
            new() { Query = Enumerable.Range(0, 200).ToDictionary(i => $"k{i}", i => "vvvvv") },
            new() { Query = new Dictionary<string, string> { [""] = "v" } },
            new() { Query = new Dictionary<string, string> { [" "] = "v" } },
            new() { Headers = new Dictionary<string, string> { ["\t"] = "v" } },
            new() { Query = new Dictionary<string, string> { [new string('k', 101)] = "v" } },
            new() { Query = new Dictionary<string, string> { ["expand"] = null! } },
            new() { Headers = new Dictionary<string, string> { ["x"] = null! } },
        };
        foreach (var size in new[] { 1025, 1500, 4000, 8000, 16000, 30000 })
        {
            badOptions.Add(new SubscriptionOptions { Query = new Dictionary<string, string> { ["filter"] = new string('f', size) } });
        }

        foreach (var options in badOptions)
        {
            await Expect(RelayErrorCodes.InvalidOptions, () => attacker.SubscribeAsync("notes/*", options), "options " + System.Text.Json.JsonSerializer.Serialize(options)[..Math.Min(80, System.Text.Json.JsonSerializer.Serialize(options).Length)]);
        }

        var forged = pocketBase.Alice.Token[..^6] + "AAAAAA";
        var parts = pocketBase.Alice.Token.Split('.');
        string?[] invalidTokens = [null, "", " ", "x", "a.b.c", "a.b", forged, parts[0] + ".." + parts[2], parts[1], "Bearer", new string('t', 5000), pocketBase.Alice.Token + "x"];
        foreach (var token in invalidTokens)
        {
            await Expect(RelayErrorCodes.InvalidToken, () => attacker.ReauthenticateAsync(token!), $"Reauthenticate({token?[..Math.Min(10, token.Length)]})");
        }

        await Expect(RelayErrorCodes.TokenUserMismatch, () => attacker.ReauthenticateAsync(pocketBase.Bob.Token), "Reauthenticate(bob's token)");
        var guest = await relay.ConnectAsync(token: null);
        await Expect(RelayErrorCodes.TokenUserMismatch, () => guest.ReauthenticateAsync(pocketBase.Alice.Token), "guest Reauthenticate");

        // Calls SignalR itself refuses: unknown methods, wrong arity, wrong argument types.
        (string Method, object?[] Args)[] malformedCalls =
        [
            ("Nope", []), ("Subscribe_", ["notes/*", null]), ("Subscribe", ["notes/*"]), ("Subscribe", []),
            ("Subscribe", ["notes/*", null, 3]), ("Subscribe", [42, null]), ("Subscribe", ["notes/*", "not options"]),
            ("Unsubscribe", []), ("Unsubscribe", ["notes/*", 1]), ("Reauthenticate", []), ("Reauthenticate", [new[] { 1, 2 }]),
            ("OnConnectedAsync", []), ("Dispose", []), ("Context", []), ("ToString", []),
        ];
        foreach (var (method, args) in malformedCalls)
        {
            cases++;
            Assert.True(await Record.ExceptionAsync(() => attacker.Hub.InvokeCoreAsync(method, typeof(object), args).DefaultTimeout()) is HubException, $"{method}({args.Length} args) not refused");
        }

        for (var i = 0; i < 5; i++)
        {
            await attacker.SubscribeAsync($"notes/r{i}");
        }

        await Expect(RelayErrorCodes.TooManySubscriptions, () => attacker.SubscribeAsync("notes/r5"), "sixth subscription");

        // Connections per user: alice holds 1; two more fit, the fourth is closed with its code.
        await relay.ConnectAsync(pocketBase.Alice.Token);
        await relay.ConnectAsync(pocketBase.Alice.Token);
        cases++;
        var fourth = await relay.ConnectAsync(pocketBase.Alice.Token);
        var closedWith = await fourth.Closed.DefaultTimeout();
        Assert.Contains(RelayErrorCodes.TooManyConnections, closedWith?.Message ?? string.Empty, StringComparison.Ordinal);

        // What breaks the framing: oversized and malformed frames close that connection only.
        string[] frames =
        [
            "{\"type\":1,\"target\":\"Subscribe\",\"arguments\":[\"" + new string('a', 40_000) + "\",null]}\u001e",
            "{\"type\":1,\"target\":\"Subscribe\",\"arguments\":[" + string.Concat(Enumerable.Repeat("[", 5000)) + "]}\u001e",
            "not json at all\u001e",
            "{\"type\":1,\"target\":\u001e",
            "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":\"notes/*\"}\u001e",
            "\u001e\u001e\u001e",
            new string('{', 60_000) + "\u001e",
        ];
        foreach (var frame in frames)
        {
            cases++;
            await SendRawFrameAsync(relay, frame);
        }

        // Nothing leaked into errors, and the bystander never noticed.
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "bystander's", owner = pocketBase.Bob.Id }, pocketBase.Bob.Token).DefaultTimeout();
        await bystander.NextEventAsync("create", note.GetProperty("id").GetString()!);
        var stillServed = await relay.ConnectAsync(token: null);
        await stillServed.SubscribeAsync("announcements/*");
        relay.AssertNoErrorLogs();

        output.WriteLine($"{cases} bad-input cases tried");
        await TestResults.AppendAsync($"bad input: {cases} cases tried, each refused with its code or its connection closed; bystander unaffected");
        Assert.True(cases >= 200, $"only {cases} cases");
    }

    [Fact]
    public async Task SubscribeFlood_IsRateLimitedPerConnection_OthersUnaffected()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:HubCallsPerSecond"] = "10" });
        var flooder = await relay.ConnectAsync(pocketBase.Alice.Token);
        var neighbour = await relay.ConnectAsync(pocketBase.Alice.Token);

        var codes = new List<string?>();
        for (var i = 0; i < 50; i++)
        {
            try
            {
                await flooder.SubscribeAsync("announcements/*");
                codes.Add(null);
            }
            catch (HubException ex)
            {
                codes.Add(RelayErrorCodes.FromMessage(ex.Message));
            }
        }

        Assert.Contains(RelayErrorCodes.RateLimited, codes);
        // At least the burst budget passes; the rest of the flood is refused (more may pass if the calls span over a second).
        Assert.InRange(codes.Count(c => c is null), 10, 49);

        // The neighbour (same user, own budget) is not limited by the flood.
        await neighbour.SubscribeAsync("notes/*");
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "neighbour", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        await neighbour.NextEventAsync("create", note.GetProperty("id").GetString()!);
        relay.AssertNoErrorLogs();
    }

    private static async Task SendRawFrameAsync(RelayServer relay, string frame)
    {
        using var socket = new ClientWebSocket();
        var url = new UriBuilder(new Uri(relay.Url, RelayProtocol.HubPath)) { Scheme = "ws" }.Uri;
        await socket.ConnectAsync(url, CancellationToken.None).DefaultTimeout();
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
        var buffer = new byte[4096];
        var handshake = await socket.ReceiveAsync(buffer, CancellationToken.None).DefaultTimeout();
        Assert.Equal("{}\u001e", Encoding.UTF8.GetString(buffer, 0, handshake.Count));

        await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();

        // Then a well-formed call. The server either closed the connection over the bad frame, or ignored the frame
        // (SignalR skips unknown message types for forward compatibility) and answers the call: both are fine; a
        // crash, a hang or an error log is not.
        const string Probe = "{\"type\":1,\"invocationId\":\"probe\",\"target\":\"Unsubscribe\",\"arguments\":[\"notes/*\"]}\u001e";
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(Probe), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();
        }
        catch (WebSocketException)
        {
            return;
        }

        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (socket.State == WebSocketState.Open && DateTime.UtcNow < deadline)
        {
            try
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TestTimeouts.Default);
                var text = Encoding.UTF8.GetString(buffer, 0, received.Count);
                if (received.MessageType == WebSocketMessageType.Close
                    || text.Contains("\"type\":7", StringComparison.Ordinal)
                    || text.Contains("\"invocationId\":\"probe\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (WebSocketException)
            {
                return;
            }
            catch (TimeoutException)
            {
                break;
            }
        }

        Assert.Fail($"no close and no answer after frame {frame[..Math.Min(40, frame.Length)]}");
    }
}
