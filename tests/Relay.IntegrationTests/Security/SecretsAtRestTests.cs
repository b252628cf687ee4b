using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Bff;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;
using StackExchange.Redis;

namespace Relay.IntegrationTests.Security;

/// <summary>
/// Issue 18, item 5: whoever reads Redis (a replica, a backup, <c>MONITOR</c>) finds neither a session id a forged
/// cookie could carry nor a PocketBase token, and with a key-encryption certificate not the key ring either.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class SecretsAtRestTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Redis_AfterSignIn_HoldsNeitherTheSessionIdNorTheToken()
    {
        await using var redis = await RedisProcess.StartAsync();
        var settings = BffSettings.Enabled();
        settings["Relay:Redis:Configuration"] = redis.Configuration;
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        using var browser = new BffBrowser(relay.Url);
        await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);
        await browser.GetJsonAsync("api/collections/notes/records");

        // The secrets to look for: the id inside the browser's cookie and the token Relay holds for it.
        var ticket = relay.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(BffDefaults.Scheme).TicketDataFormat.Unprotect(browser.SessionCookie!);
        var sessionId = ticket!.Principal.FindFirst(BffDefaults.SessionIdClaim)!.Value;
        var token = (await relay.Services.GetRequiredService<IBffSessionStore>().GetAsync(sessionId, CancellationToken.None).DefaultTimeout())!.Token;
        var signature = token.Split('.')[2];

        var dump = await DumpAsync(redis);

        Assert.Contains(pocketBase.Alice.Id, dump, StringComparison.Ordinal);
        Assert.DoesNotContain(sessionId, dump, StringComparison.Ordinal);
        Assert.DoesNotContain(signature, dump, StringComparison.Ordinal);
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task KeyRing_WithACertificate_StoredEncrypted_AndAnotherInstanceWithItReadsTheCookie()
    {
        await using var redis = await RedisProcess.StartAsync();
        var certificatePath = Path.Combine(Path.GetTempPath(), $"relay-keyring-{Guid.NewGuid():N}.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=relay-keyring-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            await File.WriteAllBytesAsync(certificatePath, certificate.Export(X509ContentType.Pkcs12, "pfx-password"));
        }

        try
        {
            Dictionary<string, string?> Settings()
            {
                var settings = BffSettings.Enabled();
                settings["Relay:Redis:Configuration"] = redis.Configuration;
                settings["Relay:Bff:KeyEncryptionCertificatePath"] = certificatePath;
                settings["Relay:Bff:KeyEncryptionCertificatePassword"] = "pfx-password";
                return settings;
            }

            await using var first = RelayServer.Start(pocketBase.Server.Url, Settings());
            using var browser = new BffBrowser(first.Url);
            await browser.LoginOkAsync(pocketBase.Alice.Email, pocketBase.Alice.Password);

            var dump = await DumpAsync(redis);
            Assert.Contains("<key ", dump, StringComparison.Ordinal);
            Assert.Contains("EncryptedData", dump, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", dump, StringComparison.Ordinal);

            // Another instance, with the same certificate and nothing else shared but Redis, decrypts the key ring.
            await using var second = RelayServer.Start(pocketBase.Server.Url, Settings());
            using var onSecond = new BffBrowser(second.Url);
            onSecond.Cookies.Add(second.Url, new Cookie(BffBrowser.CookieName, browser.SessionCookie!));
            Assert.Equal(pocketBase.Alice.Id, (await onSecond.GetJsonAsync("bff/user")).GetProperty("id").GetString());
            first.AssertNoErrorLogs();
            second.AssertNoErrorLogs();
        }
        finally
        {
            File.Delete(certificatePath);
        }
    }

    /// <summary>Every key and value in Redis, as text: what a replica or a backup would hand out.</summary>
    private static async Task<string> DumpAsync(RedisProcess redis)
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration).DefaultTimeout();
        var server = multiplexer.GetServer(multiplexer.GetEndPoints()[0]);
        var database = multiplexer.GetDatabase();
        var dump = new StringBuilder();
        foreach (var key in server.Keys(pattern: "*"))
        {
            dump.Append(key).Append('\n');
            var values = await database.KeyTypeAsync(key).DefaultTimeout() switch
            {
                RedisType.String => [await database.StringGetAsync(key).DefaultTimeout()],
                RedisType.Hash => (await database.HashGetAllAsync(key).DefaultTimeout()).SelectMany(entry => new[] { entry.Name, entry.Value }).ToArray(),
                RedisType.List => await database.ListRangeAsync(key).DefaultTimeout(),
                RedisType.Set => await database.SetMembersAsync(key).DefaultTimeout(),
                RedisType.SortedSet => await database.SortedSetRangeByRankAsync(key).DefaultTimeout(),
                RedisType.Stream => (await database.StreamRangeAsync(key).DefaultTimeout()).SelectMany(entry => entry.Values.SelectMany(v => new[] { v.Name, v.Value })).ToArray(),
                _ => Array.Empty<RedisValue>(),
            };
            foreach (var value in values)
            {
                dump.Append(value).Append('\n');
            }
        }

        return dump.ToString();
    }
}
