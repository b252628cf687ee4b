using Microsoft.AspNetCore.Http;
using Relay.Bff;

namespace Relay.Tests.Bff;

public class BffProxyTests
{
    [Theory]
    [InlineData("/api/realtime", BffErrorCodes.UseTheHub)]
    [InlineData("/api/Realtime/", BffErrorCodes.UseTheHub)]
    [InlineData("/api/collections/users/auth-refresh", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/users/AUTH-REFRESH", BffErrorCodes.NotProxied)]
    [InlineData("/api//collections//users//auth-refresh", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/users/auth-with-password", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/users/auth-with-oauth2", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/users/auth-with-otp", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/_superusers/impersonate/abc", BffErrorCodes.NotProxied)]
    [InlineData("/api/admins/auth-with-password", BffErrorCodes.NotProxied)]
    [InlineData("/api/admins/auth-refresh", BffErrorCodes.NotProxied)]
    [InlineData("/api/files/token", BffErrorCodes.NotProxied)]
    [InlineData("/api/Files/Token/", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/notes", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/notes/truncate", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/import", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/meta/scaffolds", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/_superusers/records", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/_SUPERUSERS/records/abc", BffErrorCodes.NotProxied)]
    [InlineData("/api/collections/notes%2Frecords/x", BffErrorCodes.NotProxied)]
    [InlineData("/api/settings", BffErrorCodes.NotProxied)]
    [InlineData("/api/settings/test/email", BffErrorCodes.NotProxied)]
    [InlineData("/api/logs", BffErrorCodes.NotProxied)]
    [InlineData("/api/logs/stats", BffErrorCodes.NotProxied)]
    [InlineData("/api/backups", BffErrorCodes.NotProxied)]
    [InlineData("/api/crons", BffErrorCodes.NotProxied)]
    [InlineData("/api/admins", BffErrorCodes.NotProxied)]
    [InlineData("/api/batch", BffErrorCodes.NotProxied)]
    public void NotProxied_RealtimeAndTokenIssuingPaths_Refused(string path, string code)
        => Assert.Equal(code, BffProxy.NotProxied(new PathString(path))?.Code);

    [Theory]
    [InlineData("/api/collections/notes/records")]
    [InlineData("/api/collections/notes/records/abc")]
    [InlineData("/api/collections/users/records")]
    [InlineData("/api/collections/users/auth-methods")]
    [InlineData("/api/collections/users/request-password-reset")]
    [InlineData("/api/collections/users/confirm-verification")]
    [InlineData("/api/collections/users/request-otp")]
    [InlineData("/api/collections/_externalAuths/records")]
    [InlineData("/api/collections/users/records/abc/external-auths")]
    [InlineData("/api/my-custom-route")]
    [InlineData("/api/files/notes/abc/file.png")]
    [InlineData("/api/health")]
    public void NotProxied_OrdinaryPaths_Forwarded(string path)
        => Assert.Null(BffProxy.NotProxied(new PathString(path)));
}
