using System.Diagnostics;
using System.Net;
using System.Text;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 1: a hub connection cannot be taken over. A cookie-authenticated hub request needs proof that it comes
/// from Relay's own (or an allowed) origin, and every request of a connection must present the identity it negotiated
/// with. Each attack is played as it would be, with raw HTTP against a real Relay and PocketBase.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class CrossSiteHijackTests(PocketBaseFixture pocketBase)
{
    private static readonly TimeSpan Listen = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task LongPolling_AttackerNegotiatesAndTheVictimsBrowserPollsOnce_AttackerReceivesNothingOfTheVictims()
    {
        var victim = await pocketBase.CreateUserAsync("hijack-victim");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(victim.Email, victim.Password);
        await using var victimsTab = await browser.ConnectHubAsync();
        await victimsTab.SubscribeAsync("notes/*");

        // The attacker negotiates as a guest, then a page on a sibling subdomain makes the victim's browser load
        // <img src="https://relay/realtime?id=...">: same site, so SameSite=Strict still sends the cookie; no Origin.
        using var attacker = new RawHubClient(relay.Url);
        using var victimsBrowser = new RawHubClient(relay.Url, browser.Cookies, ImageRequestFromASiblingSite);
        var id = await attacker.NegotiateTokenAsync();
        var (imageStatus, _) = await victimsBrowser.PollAsync(id).DefaultTimeout();

        var (sendStatus, _) = await attacker.SendAsync(id, RawHubClient.Handshake + RawHubClient.Invocation("1", "Subscribe", "notes/*", null));
        // Before polling itself, the attacker lets the hub take the handshake under whichever identity the connection has.
        await WaitForConnectionsAsync(relay, 2, TimeSpan.FromSeconds(3));
        var seen = new StringBuilder();
        await PollWhileAsync(attacker, id, seen, until: text => text.Contains("\"invocationId\":\"1\"", StringComparison.Ordinal), TestTimeouts.Default);

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "the victim's secret", owner = victim.Id });
        var noteId = note.GetProperty("id").GetString()!;
        await victimsTab.NextEventAsync("create", noteId);
        await PollWhileAsync(attacker, id, seen, until: text => text.Contains(noteId, StringComparison.Ordinal), Listen);

        Assert.False(seen.ToString().Contains(noteId, StringComparison.Ordinal), $"the attacker received the victim's note: {seen}");
        Assert.True(imageStatus != HttpStatusCode.OK, $"the victim's cookie-carrying poll without Origin was accepted ({(int)imageStatus}); the attacker sent with {(int)sendStatus}");
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task LongPolling_SomeoneElsePollsOrSendsOnAVictimsConnection_403WithCode_NothingLeaks_VictimCarriesOn()
    {
        var victim = await pocketBase.CreateUserAsync("hijack-lp-victim");
        var other = await pocketBase.CreateUserAsync("hijack-lp-other");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var victimBrowser = new BffBrowser(relay.Url);
        await victimBrowser.LoginOkAsync(victim.Email, victim.Password);
        using var otherBrowser = new BffBrowser(relay.Url);
        await otherBrowser.LoginOkAsync(other.Email, other.Password);
        var own = relay.Url.GetLeftPart(UriPartial.Authority);

        // The victim's page, same origin: its polls carry Sec-Fetch-Site: same-origin, its sends its Origin.
        using var victimsPage = new RawHubClient(relay.Url, victimBrowser.Cookies, SameOriginPage(own));
        var id = await victimsPage.NegotiateTokenAsync();
        Assert.Equal(HttpStatusCode.OK, (await victimsPage.PollAsync(id).DefaultTimeout()).Status);
        Assert.Equal(HttpStatusCode.OK, (await victimsPage.SendAsync(id, RawHubClient.Handshake + RawHubClient.Invocation("1", "Subscribe", "notes/*", null))).Status);
        var victimSeen = new StringBuilder();
        await PollWhileAsync(victimsPage, id, victimSeen, until: text => text.Contains("\"invocationId\":\"1\"", StringComparison.Ordinal), TestTimeouts.Default);

        // Whoever learnt the connection token: a guest script, another signed-in user from Relay's own origin.
        using var guest = new RawHubClient(relay.Url);
        using var otherUsersPage = new RawHubClient(relay.Url, otherBrowser.Cookies, SameOriginPage(own));
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "not for them", owner = victim.Id });
        var noteId = note.GetProperty("id").GetString()!;
        foreach (var intruder in new[] { guest, otherUsersPage })
        {
            var (pollStatus, pollBody) = await intruder.PollAsync(id).DefaultTimeout();
            Assert.Equal(HttpStatusCode.Forbidden, pollStatus);
            Assert.Contains("connection_identity_mismatch", pollBody, StringComparison.Ordinal);
            Assert.DoesNotContain(noteId, pollBody, StringComparison.Ordinal);

            var (sendStatus, sendBody) = await intruder.SendAsync(id, RawHubClient.Invocation("evil", "Unsubscribe", "notes/*"));
            Assert.Equal(HttpStatusCode.Forbidden, sendStatus);
            Assert.Contains("connection_identity_mismatch", sendBody, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, await intruder.CloseAsync(id));
        }

        // The victim's connection is untouched: still subscribed (the intruders' Unsubscribe never ran), the note arrives.
        await PollWhileAsync(victimsPage, id, victimSeen, until: text => text.Contains(noteId, StringComparison.Ordinal), TestTimeouts.Default);
        Assert.Contains(noteId, victimSeen.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"invocationId\":\"evil\"", victimSeen.ToString(), StringComparison.Ordinal);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task ServerSentEvents_CookieStreamWithoutSameOriginProof_Refused_SameOriginStreamWorks_OthersSendsRefused()
    {
        var victim = await pocketBase.CreateUserAsync("hijack-sse-victim");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, BffSettings.Enabled());
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(victim.Email, victim.Password);
        var own = relay.Url.GetLeftPart(UriPartial.Authority);
        using var attacker = new RawHubClient(relay.Url);

        // The attacker's connection, its stream opened by the victim's browser from a sibling site: with no Origin (a
        // navigation or an image), and as a credentialed EventSource (Origin of the sibling site).
        foreach (var headers in new[] { ImageRequestFromASiblingSite, new Dictionary<string, string> { ["Origin"] = "https://sibling.example", ["Sec-Fetch-Site"] = "same-site" } })
        {
            var id = await attacker.NegotiateTokenAsync();
            using var victimsBrowser = new RawHubClient(relay.Url, browser.Cookies, headers);
            using var stream = await victimsBrowser.OpenSseAsync(id);
            Assert.True(stream.StatusCode != HttpStatusCode.OK, $"a cookie SSE stream with {string.Join(", ", headers.Keys)} was opened ({(int)stream.StatusCode})");
        }

        // The victim's own page: the same cookie from Relay's origin opens its stream and receives its events.
        using var page = new RawHubClient(relay.Url, browser.Cookies, SameOriginPage(own));
        var pageId = await page.NegotiateTokenAsync();
        using var pageStream = await page.OpenSseAsync(pageId);
        Assert.Equal(HttpStatusCode.OK, pageStream.StatusCode);
        using var reader = new StreamReader(await pageStream.Content.ReadAsStreamAsync());
        Assert.Equal(HttpStatusCode.OK, (await page.SendAsync(pageId, RawHubClient.Handshake + RawHubClient.Invocation("1", "Subscribe", "notes/*", null))).Status);
        var streamed = new StringBuilder();
        await ReadWhileAsync(reader, streamed, text => text.Contains("\"invocationId\":\"1\"", StringComparison.Ordinal), TestTimeouts.Default);

        // Someone else's send on the victim's stream (the attacker as a guest, or with a token of their own): refused.
        var (sendStatus, sendBody) = await attacker.SendAsync(pageId, RawHubClient.Invocation("evil", "Unsubscribe", "notes/*"));
        Assert.Equal(HttpStatusCode.Forbidden, sendStatus);
        Assert.Contains("connection_identity_mismatch", sendBody, StringComparison.Ordinal);
        using var withToken = new RawHubClient(relay.Url, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + pocketBase.Alice.Token });
        Assert.Equal(HttpStatusCode.Forbidden, (await withToken.SendAsync(pageId, RawHubClient.Invocation("evil2", "Unsubscribe", "notes/*"))).Status);

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "streamed", owner = victim.Id });
        var noteId = note.GetProperty("id").GetString()!;
        await ReadWhileAsync(reader, streamed, text => text.Contains(noteId, StringComparison.Ordinal), TestTimeouts.Default);
        Assert.Contains(noteId, streamed.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"invocationId\":\"evil", streamed.ToString(), StringComparison.Ordinal);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task TokenMode_LongPollingConnectionUsedWithAnotherUsersToken_403_OwnerCarriesOn()
    {
        var owner = await pocketBase.CreateUserAsync("hijack-token-owner");
        var intruder = await pocketBase.CreateUserAsync("hijack-token-intruder");
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        using var ownersClient = new RawHubClient(relay.Url, headers: Bearer(owner));
        using var intrudersClient = new RawHubClient(relay.Url, headers: Bearer(intruder));
        using var guest = new RawHubClient(relay.Url);

        var id = await ownersClient.NegotiateTokenAsync();
        Assert.Equal(HttpStatusCode.OK, (await ownersClient.PollAsync(id).DefaultTimeout()).Status);
        Assert.Equal(HttpStatusCode.OK, (await ownersClient.SendAsync(id, RawHubClient.Handshake + RawHubClient.Invocation("1", "Subscribe", "notes/*", null))).Status);
        var ownerSeen = new StringBuilder();
        await PollWhileAsync(ownersClient, id, ownerSeen, until: text => text.Contains("\"invocationId\":\"1\"", StringComparison.Ordinal), TestTimeouts.Default);

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "the owner's", owner = owner.Id });
        var noteId = note.GetProperty("id").GetString()!;
        foreach (var other in new[] { intrudersClient, guest })
        {
            var (pollStatus, pollBody) = await other.PollAsync(id).DefaultTimeout();
            Assert.Equal(HttpStatusCode.Forbidden, pollStatus);
            Assert.DoesNotContain(noteId, pollBody, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, (await other.SendAsync(id, RawHubClient.Invocation("evil", "Unsubscribe", "notes/*"))).Status);
        }

        await PollWhileAsync(ownersClient, id, ownerSeen, until: text => text.Contains(noteId, StringComparison.Ordinal), TestTimeouts.Default);
        Assert.Contains(noteId, ownerSeen.ToString(), StringComparison.Ordinal);

        // A connection id nobody negotiated: refused before SignalR, with a code.
        var (unknownStatus, unknownBody) = await ownersClient.PollAsync("made-up-" + Guid.NewGuid().ToString("N")).DefaultTimeout();
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.Contains("unknown_connection", unknownBody, StringComparison.Ordinal);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task CookieWebSocketsOnly_NegotiateOffersOnlyWebSockets_CookiePollAndStreamRefused_WebSocketWorks_TokenModeUnaffected()
    {
        var user = await pocketBase.CreateUserAsync("hijack-ws-only");
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:CookieTransports"] = "WebSockets";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(user.Email, user.Password);
        var own = relay.Url.GetLeftPart(UriPartial.Authority);

        using var page = new RawHubClient(relay.Url, browser.Cookies, SameOriginPage(own));
        var (status, negotiated) = await page.NegotiateAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["WebSockets"], negotiated.GetProperty("availableTransports").EnumerateArray().Select(t => t.GetProperty("transport").GetString()));
        var id = negotiated.GetProperty("connectionToken").GetString()!;
        var (pollStatus, pollBody) = await page.PollAsync(id).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Forbidden, pollStatus);
        Assert.Contains("transport_not_allowed", pollBody, StringComparison.Ordinal);
        using (var stream = await page.OpenSseAsync(id))
        {
            Assert.Equal(HttpStatusCode.Forbidden, stream.StatusCode);
        }

        // The browser's WebSocket (Origin sent, as every browser does) works; a token client may still poll.
        await using var socket = await browser.ConnectHubAsync();
        await socket.SubscribeAsync("notes/*");
        using var tokenClient = new RawHubClient(relay.Url, headers: Bearer(user));
        var (tokenStatus, tokenNegotiated) = await tokenClient.NegotiateAsync();
        Assert.Equal(HttpStatusCode.OK, tokenStatus);
        Assert.Equal(3, tokenNegotiated.GetProperty("availableTransports").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await tokenClient.PollAsync(tokenNegotiated.GetProperty("connectionToken").GetString()!).DefaultTimeout()).Status);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task CookieTransports_Invalid_HostRefusesToStartNamingTheKey()
    {
        var settings = BffSettings.Enabled();
        settings["Relay:Bff:CookieTransports"] = "None";
        var error = Assert.ThrowsAny<Exception>(() => RelayServer.Start(pocketBase.Server.Url, settings));
        Assert.Contains("Relay:Bff:CookieTransports", error.ToString(), StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    private static Dictionary<string, string> ImageRequestFromASiblingSite => new()
    {
        ["Sec-Fetch-Site"] = "same-site",
        ["Sec-Fetch-Mode"] = "no-cors",
        ["Sec-Fetch-Dest"] = "image",
    };

    // A page of Relay's own origin, as a browser sends it: Origin on POSTs, Sec-Fetch-Site on everything.
    private static Dictionary<string, string> SameOriginPage(string origin) => new()
    {
        ["Origin"] = origin,
        ["Sec-Fetch-Site"] = "same-origin",
    };

    private static Dictionary<string, string> Bearer(PocketBaseUser user) => new() { ["Authorization"] = "Bearer " + user.Token };

    /// <summary>Polls connection <paramref name="id"/> until what came satisfies <paramref name="until"/> or <paramref name="within"/> has passed.</summary>
    private static async Task PollWhileAsync(RawHubClient client, string id, StringBuilder seen, Func<string, bool> until, TimeSpan within)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (!until(seen.ToString()))
        {
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(left);
            try
            {
                var (status, body) = await client.PollAsync(id, timeout.Token);
                seen.Append(body);
                if (status != HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task ReadWhileAsync(StreamReader reader, StringBuilder seen, Func<string, bool> until, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new char[4096];
        while (!until(seen.ToString()))
        {
            var read = await reader.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                return;
            }

            seen.Append(buffer, 0, read);
        }
    }

    private static async Task WaitForConnectionsAsync(RelayServer relay, long expected, TimeSpan within)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (relay.Gauge("relay.connections") < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }
    }
}
