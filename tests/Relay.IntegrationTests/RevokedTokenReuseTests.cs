using System.Net;
using Relay.Client.Protocol;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>
/// A token Relay itself found revoked (its session ended with <c>AuthExpired</c>) does not open a connection again,
/// though an earlier verdict on it ("valid") is still in the verification cache. Before the fix the stolen token of a
/// user who changed their password reconnected at once and joined the user's new session: it received their records.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class RevokedTokenReuseTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task StolenToken_AfterPasswordChangeEndedItsSession_ReconnectRefused_UsersNewSessionNotJoined()
    {
        var user = await pocketBase.CreateUserAsync("stolen");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:Auth:RevalidateInterval"] = "00:00:02" });
        var attacker = await relay.ConnectAsync(user.Token);
        await attacker.SubscribeAsync("notes/*");

        // The user changes their password; Relay's re-check finds the old token revoked and ends its session.
        await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { password = "a-new-password-3", passwordConfirm = "a-new-password-3" }).DefaultTimeout();
        Assert.Equal(AuthExpiredReasons.TokenRevoked, (await attacker.AuthExpired.DefaultTimeout()).Reason);
        await attacker.Closed.DefaultTimeout();

        // The user signs in again and opens a tab; the attacker reconnects with the old token at once.
        var fresh = await pocketBase.Admin.LoginUserAsync(user.Email, "a-new-password-3").DefaultTimeout();
        var tab = await relay.ConnectAsync(fresh.Token);
        await tab.SubscribeAsync("notes/*");
        Assert.Equal(HttpStatusCode.Unauthorized, await HubNegotiation.StatusAsync(relay, user.Token, asHeader: true));
        Assert.Equal(HttpStatusCode.Unauthorized, await HubNegotiation.StatusAsync(relay, user.Token, asHeader: false));
        TestConnection? again = null;
        try
        {
            again = await relay.ConnectAsync(user.Token);
            await again.SubscribeAsync("notes/*");
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Net.WebSockets.WebSocketException or Microsoft.AspNetCore.SignalR.HubException)
        {
            // Refused, as it must be.
        }

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "for the user only", owner = user.Id }, fresh.Token).DefaultTimeout();
        await tab.NextEventAsync("create", note.GetProperty("id").GetString()!);
        if (again is not null)
        {
            await again.AssertNoEventAsync();
            Assert.Fail("the revoked token opened a connection");
        }
    }
}
