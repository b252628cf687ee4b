using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;
using Relay.Sessions;

namespace Relay.IntegrationTests;

/// <summary>Tokens expire and get revoked while streams live; Relay keeps up or says so.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class TokenLifecycleTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task ShortLivedToken_IsRefreshedBeforeExpiry_SubscriptionsKeepWorking()
    {
        // PocketBase's shortest token life (5 s on 0.22, 10 s on 0.23+) plus one second. Kept for the whole test: every
        // token issued meanwhile (including the ones Relay gets from auth-refresh) lives that long, so the stream only
        // survives if Relay keeps refreshing.
        var life = pocketBase.Server.Version.ShortestTokenDuration + TimeSpan.FromSeconds(1);
        await pocketBase.Admin.SetRecordTokenDurationAsync(life).DefaultTimeout();
        try
        {
            var user = await pocketBase.CreateUserAsync("shortlived");
            await using var relay = RelayServer.Start(pocketBase.Server.Url);
            var tab = await relay.ConnectAsync(user.Token);
            await tab.SubscribeAsync("notes/*");

            // Past two token lifetimes: a new subscription makes Relay post to PocketBase with the session's token,
            // which PocketBase refuses (403) if it has expired.
            await Task.Delay(2 * life + TimeSpan.FromSeconds(1));
            await tab.SubscribeAsync("announcements/*");
            var fresh = await pocketBase.Admin.LoginUserAsync(user.Email, user.Password).DefaultTimeout();
            var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "still mine", owner = user.Id }, fresh.Token).DefaultTimeout();
            await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);

            var session = relay.Services.GetRequiredService<SessionManager>().Find(new SessionKey(user.CollectionId, user.Id))!;
            Assert.True(session.ExpiresAt > DateTimeOffset.UtcNow);
            Assert.True(relay.Logs.Entries.Count(e => e.EventId.Name == "TokenRefreshed") >= 3, "expected a refresh every half lifetime");
            relay.AssertNoErrorLogs();
        }
        finally
        {
            await pocketBase.Admin.SetRecordTokenDurationAsync(TimeSpan.FromDays(14)).DefaultTimeout();
        }
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("password")]
    public async Task RevokedToken_ConnectionsGetAuthExpiredAndClose(string revocation)
    {
        var user = await pocketBase.CreateUserAsync("revoked" + revocation);
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Auth:RevalidateInterval"] = "00:00:01" });
        var tabs = new[] { await relay.ConnectAsync(user.Token), await relay.ConnectAsync(user.Token) };
        foreach (var tab in tabs)
        {
            await tab.SubscribeAsync("notes/*");
            await tab.SubscribeAsync("announcements/*");
        }

        if (revocation == "deleted")
        {
            await pocketBase.Admin.DeleteRecordAsync("users", user.Id).DefaultTimeout();
        }
        else
        {
            await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { password = "a-new-password-1", passwordConfirm = "a-new-password-1" }).DefaultTimeout();
        }

        foreach (var tab in tabs)
        {
            Assert.Equal(AuthExpiredReasons.TokenRevoked, (await tab.AuthExpired.DefaultTimeout()).Reason);
            await tab.Closed.DefaultTimeout();
        }

        await relay.WaitForGaugeAsync("relay.sessions", 0, new("kind", "user"));
        await relay.WaitForGaugeAsync("relay.upstream.streams", 0);
        await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "nobody from that user hears this" }).DefaultTimeout();
        foreach (var tab in tabs)
        {
            await tab.AssertNoEventAsync();
        }
    }

    [Fact]
    public async Task Reauthenticate_SameUserAccepted_OthersRefusedWithCodes()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var alice = await relay.ConnectAsync(pocketBase.Alice.Token);
        var guest = await relay.ConnectAsync(token: null);
        await alice.SubscribeAsync("notes/*");
        var fresh = await pocketBase.Admin.LoginUserAsync(pocketBase.Alice.Email, pocketBase.Alice.Password).DefaultTimeout();

        await alice.ReauthenticateAsync(fresh.Token);

        Assert.Equal(RelayErrorCodes.TokenUserMismatch, await CodeOf(() => alice.ReauthenticateAsync(pocketBase.Bob.Token)));
        Assert.Equal(RelayErrorCodes.InvalidToken, await CodeOf(() => alice.ReauthenticateAsync("not-a-token")));
        Assert.Equal(RelayErrorCodes.InvalidToken, await CodeOf(() => alice.ReauthenticateAsync(pocketBase.Alice.Token[..^3] + "abc")));
        Assert.Equal(RelayErrorCodes.InvalidToken, await CodeOf(() => alice.ReauthenticateAsync("")));
        Assert.Equal(RelayErrorCodes.TokenUserMismatch, await CodeOf(() => guest.ReauthenticateAsync(pocketBase.Alice.Token)));

        // Still alice's, still delivering.
        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "after reauth", owner = pocketBase.Alice.Id }, fresh.Token).DefaultTimeout();
        await alice.NextEventAsync("create", note.GetProperty("id").GetString()!);
        relay.AssertNoErrorLogs();
    }

    private static async Task<string?> CodeOf(Func<Task> call)
        => RelayErrorCodes.FromMessage((await Assert.ThrowsAsync<HubException>(call)).Message);
}
