using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Relay.Client;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Sessions;

namespace Relay.IntegrationTests;

/// <summary>The .NET client against the real Relay and PocketBase.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class RelayClientTests(PocketBaseFixture pocketBase)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubscribeAsync_HandlersReceiveEvents_LastDisposalUnsubscribes(bool messagePack)
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var client = CreateClient(relay, pocketBase.Alice.Token, messagePack);
        await client.StartAsync().DefaultTimeout();
        var first = Channel.CreateUnbounded<RelayEvent>();
        var second = Channel.CreateUnbounded<RelayEvent>();

        var firstSubscription = await client.SubscribeAsync("notes/*", e => first.Writer.WriteAsync(e).AsTask()).DefaultTimeout();
        var secondSubscription = await client.SubscribeAsync("notes/*", e => second.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        var id = await CreateNoteAsync("to both handlers");
        Assert.Equal(id, (await first.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        var received = await second.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(id, received.Record.GetProperty("id").GetString());
        Assert.Equal("to both handlers", received.Record.GetProperty("title").GetString());

        await firstSubscription.DisposeAsync();
        var next = await CreateNoteAsync("to the second only");
        Assert.Equal(next, (await second.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString());
        Assert.False(first.Reader.TryRead(out _));

        await secondSubscription.DisposeAsync();
        var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(pocketBase.Alice.CollectionId, pocketBase.Alice.Id))!;
        await WaitUntilAsync(() => session.TopicCount == 0);
        await CreateNoteAsync("to no one");
        await Task.Delay(TestTimeouts.Quiet);
        Assert.False(second.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SubscribeAsync_Refused_ThrowsWithCodeAndKeepsNoState()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:AllowedCollections:0"] = "notes" });
        await using var client = CreateClient(relay, pocketBase.Alice.Token);
        await client.StartAsync().DefaultTimeout();

        var invalid = await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.SubscribeAsync("notes", _ => Task.CompletedTask));
        Assert.Equal(RelayErrorCodes.InvalidTopic, invalid.Code);
        Assert.StartsWith("invalid_topic: ", invalid.Message, StringComparison.Ordinal);
        var notAllowed = await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.SubscribeAsync("announcements/*", _ => Task.CompletedTask));
        Assert.Equal(RelayErrorCodes.TopicNotAllowed, notAllowed.Code);

        await using var ok = await client.SubscribeAsync("notes/*", _ => Task.CompletedTask).DefaultTimeout();
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.SubscribeAsync(
            "notes/*", _ => Task.CompletedTask, new SubscriptionOptions { Query = new Dictionary<string, string> { ["expand"] = "owner" } }));
    }

    [Fact]
    public async Task TransportDropped_StatefulReconnectLosesNothingAndNeedsNoResync()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var client = CreateClient(relay, pocketBase.Alice.Token);
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var events = Channel.CreateUnbounded<RelayEvent>();
        await using var notes = await client.SubscribeAsync("notes/*", e => events.Writer.WriteAsync(e).AsTask()).DefaultTimeout();

        var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(pocketBase.Alice.CollectionId, pocketBase.Alice.Id))!;
        Assert.Single(session.Connections).AbortTransport();
        // Written while the transport is down: SignalR buffers it and replays it after the stateful reconnect.
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateNoteAsync($"during the drop {i}"));
        }

        var received = new List<string>();
        for (var i = 0; i < ids.Count; i++)
        {
            received.Add((await events.Reader.ReadAsync().AsTask().DefaultTimeout()).Record.GetProperty("id").GetString()!);
        }

        Assert.Equal(ids.Order(), received.Order());
        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Connected, client.State);
        Assert.False(resyncs.Reader.TryRead(out _), "a stateful reconnect loses nothing, so no resync");
        Assert.Single(session.Connections);
    }

    [Fact]
    public async Task RevokedToken_ClientRaisesAuthExpiredThenClosedAndDoesNotReconnect()
    {
        var user = await pocketBase.CreateUserAsync("client-revoked");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Auth:RevalidateInterval"] = "00:00:01" });
        await using var client = CreateClient(relay, user.Token);
        var expired = new TaskCompletionSource<AuthExpiredSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.AuthExpired += signal =>
        {
            expired.TrySetResult(signal);
            return Task.CompletedTask;
        };
        client.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await client.StartAsync().DefaultTimeout();
        await using var subscription = await client.SubscribeAsync("notes/*", _ => Task.CompletedTask).DefaultTimeout();

        await pocketBase.Admin.DeleteRecordAsync("users", user.Id).DefaultTimeout();

        Assert.Equal(AuthExpiredReasons.TokenRevoked, (await expired.Task.DefaultTimeout()).Reason);
        await closed.Task.DefaultTimeout();
        await Task.Delay(500);
        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Disconnected, client.State);
    }

    [Fact]
    public async Task ReauthenticateAsync_OtherUsersToken_ThrowsWithCode()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var client = CreateClient(relay, pocketBase.Alice.Token);
        await client.StartAsync().DefaultTimeout();

        await client.ReauthenticateAsync((await pocketBase.Admin.LoginUserAsync(pocketBase.Alice.Email, pocketBase.Alice.Password)).Token).DefaultTimeout();
        var ex = await Assert.ThrowsAsync<RelaySubscriptionException>(() => client.ReauthenticateAsync(pocketBase.Bob.Token));
        Assert.Equal(RelayErrorCodes.TokenUserMismatch, ex.Code);
    }

    [Fact]
    public async Task StartAsync_ForgedToken_Throws401()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        await using var client = CreateClient(relay, pocketBase.Alice.Token[..^4] + "AAAA");

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.StartAsync().DefaultTimeout());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
    }

    [Fact]
    public async Task PageMountOf40Topics_AllHeldAndDeliveringDespiteTheCallRateLimit()
    {
        var user = await pocketBase.CreateUserAsync("client-mount");
        var ids = await CreateNotesAsync(user, 39);
        string[] topics = ["notes/*", .. ids.Select(id => $"notes/{id}")];
        await using var relay = RelayServer.Start(pocketBase.Server.Url);

        // The limit this is about: the same 40 topics one call each, as version-1 clients send them, are refused in part.
        await using (var perTopic = await relay.ConnectAsync(user.Token))
        {
            var calls = await Task.WhenAll(topics.Select(async topic =>
            {
                try
                {
                    await perTopic.SubscribeAsync(topic);
                    return null;
                }
                catch (HubException ex)
                {
                    return RelayErrorCodes.FromMessage(ex.Message);
                }
            }));
            var refused = calls.Count(code => code == RelayErrorCodes.RateLimited);
            Assert.True(refused > 0, "40 per-topic calls at once should meet Relay:HubCallsPerSecond (20)");
            await TestResults.AppendAsync($"Relay.Client mount: per-topic Subscribe x40 at once: {40 - refused}/40 held, {refused} rate_limited");
        }

        var logs = new FakeLogCollector();
        await using var client = CreateClient(relay, user.Token, logs: logs);
        await client.StartAsync().DefaultTimeout();
        var received = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var watch = Stopwatch.StartNew();

        var subscriptions = await Task.WhenAll(topics.Select(topic => client.SubscribeAsync(topic, e =>
        {
            received.GetOrAdd(e.Topic, _ => new()).Enqueue(e.Record.GetProperty("id").GetString()!);
            return Task.CompletedTask;
        }))).WaitAsync(TimeSpan.FromSeconds(30));
        var mounted = watch.Elapsed;

        var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(user.CollectionId, user.Id))!;
        Assert.Equal(40, session.TopicCount);
        // The client declared protocol version 2 (Events batches), which Relay read from the hub URL.
        Assert.Contains(session.Connections, connection => connection.ProtocolVersion == 2);
        var delivering = await UpdateAllAndCountDeliveringAsync(user, ids, received);
        Assert.Equal(40, delivering);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Level >= LogLevel.Warning);
        await TestResults.AppendAsync($"Relay.Client mount: 40 topics through SubscribeAsync: {subscriptions.Length}/40 held in {mounted.TotalMilliseconds:F0} ms, {delivering}/40 delivering");
    }

    [Fact]
    public async Task RelayRestart_40Topics_AllResubscribedInOneCallAndDeliveringAgain()
    {
        var user = await pocketBase.CreateUserAsync("client-restart");
        var ids = await CreateNotesAsync(user, 39);
        string[] topics = ["notes/*", .. ids.Select(id => $"notes/{id}")];
        var port = Testing.PocketBase.PocketBaseServer.FreePort();
        var first = RelayServer.Start(pocketBase.Server.Url, port: port);
        var logs = new FakeLogCollector();
        await using var client = CreateClient(first, user.Token, logs: logs);
        var resyncs = Channel.CreateUnbounded<ResyncSignal>();
        client.Resync += signal => resyncs.Writer.WriteAsync(signal).AsTask();
        await client.StartAsync().DefaultTimeout();
        var received = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        await Task.WhenAll(topics.Select(topic => client.SubscribeAsync(topic, e =>
        {
            received.GetOrAdd(e.Topic, _ => new()).Enqueue(e.Record.GetProperty("id").GetString()!);
            return Task.CompletedTask;
        }))).WaitAsync(TimeSpan.FromSeconds(30));

        // SIGTERM-like stop (clients are told to reconnect), then a new instance on the same address.
        await first.StopAsync();
        await first.DisposeAsync();
        await using var second = RelayServer.Start(pocketBase.Server.Url, port: port);

        var signal = await resyncs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ResyncReasons.Reconnected, signal.Reason);
        Assert.Equal(topics.Order(), signal.Topics.Order());
        var session = second.Services.GetRequiredService<SessionManager>().Find(new SessionKey(user.CollectionId, user.Id))!;
        Assert.Equal(40, session.TopicCount);
        var delivering = await UpdateAllAndCountDeliveringAsync(user, ids, received);
        Assert.Equal(40, delivering);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Category == typeof(RelayClient).FullName && r.Level >= LogLevel.Warning);
        await TestResults.AppendAsync($"Relay.Client restart: {signal.Topics.Count}/40 resubscribed, {delivering}/40 delivering after a Relay restart");
    }

    [Fact]
    public async Task ConsoleViewerSample_InstalledFromThePackedNupkg_ConnectsSubscribesAndPrintsAnEvent()
    {
        var viewer = await ConsoleViewer.EnsureBuiltAsync();
        var user = await pocketBase.CreateUserAsync("console-viewer");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { viewer, "--check", "--timeout", "60", "--url", relay.Url.ToString(), "--topic", "notes/*" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Not on the command line, where other processes could read it.
            Environment = { ["RELAY_TOKEN"] = user.Token },
        };
        using var process = Process.Start(start)!;
        var output = new ConcurrentQueue<string>();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
                if (line.StartsWith("subscribed: ", StringComparison.Ordinal))
                {
                    subscribed.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue("stderr: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "seen by the console viewer", owner = user.Id }, user.Token).DefaultTimeout();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            var lines = string.Join('\n', output);
            Assert.True(process.ExitCode == 0, lines);
            Assert.Contains($"create notes/* ", lines, StringComparison.Ordinal);
            Assert.Contains(note.GetProperty("id").GetString()!, lines, StringComparison.Ordinal);
            Assert.Contains("check: ok (create on notes/*)", lines, StringComparison.Ordinal);
            Assert.DoesNotContain(user.Token, lines, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static RelayClient CreateClient(RelayServer relay, string? token, bool messagePack = false, FakeLogCollector? logs = null) => new(new RelayClientOptions
    {
        Url = relay.Url,
        AccessTokenProvider = _ => ValueTask.FromResult(token),
        UseMessagePack = messagePack,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        LoggerFactory = logs is null ? null : LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs))),
    });

    private async Task<List<string>> CreateNotesAsync(Testing.PocketBase.PocketBaseUser user, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var record = await pocketBase.Admin.CreateRecordAsync("notes", new { title = $"note {i}", owner = user.Id }, user.Token).DefaultTimeout();
            ids.Add(record.GetProperty("id").GetString()!);
        }

        return ids;
    }

    /// <summary>Updates every record once; returns how many of the 40 topics (the list and each record) received their updates.</summary>
    private async Task<int> UpdateAllAndCountDeliveringAsync(Testing.PocketBase.PocketBaseUser user, List<string> ids, ConcurrentDictionary<string, ConcurrentQueue<string>> received)
    {
        received.Clear();
        foreach (var id in ids)
        {
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"updated {id}" }, user.Token).DefaultTimeout();
        }

        bool Delivered(string topic, int expected) => received.TryGetValue(topic, out var queue) && queue.Count >= expected;
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (DateTime.UtcNow < deadline && !(Delivered("notes/*", ids.Count) && ids.All(id => Delivered($"notes/{id}", 1))))
        {
            await Task.Delay(20);
        }

        return (Delivered("notes/*", ids.Count) ? 1 : 0) + ids.Count(id => Delivered($"notes/{id}", 1));
    }

    private async Task<string> CreateNoteAsync(string title)
    {
        var record = await pocketBase.Admin.CreateRecordAsync("notes", new { title, owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        return record.GetProperty("id").GetString()!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
