using Microsoft.AspNetCore.Http;
using Relay.Bff;

namespace Relay.Tests.Bff;

public class BffCsrfTests
{
    private static readonly string[] Allowed = ["https://app.example"];

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void Check_SafeMethodWithoutHeader_Allowed(string method)
        => Assert.Null(BffCsrf.Check(Request(method), Allowed));

    [Theory]
    [InlineData("POST", null)]
    [InlineData("PATCH", null)]
    [InlineData("DELETE", null)]
    [InlineData("PUT", null)]
    [InlineData("OPTIONS", null)]
    [InlineData("POST", "0")]
    [InlineData("POST", "true")]
    [InlineData("POST", "")]
    public void Check_UnsafeMethodWithoutHeaderValueOne_Refused(string method, string? header)
        => Assert.NotNull(BffCsrf.Check(Request(method, header), Allowed));

    [Theory]
    [InlineData(null)]
    [InlineData("https://relay.example")]
    [InlineData("HTTPS://RELAY.EXAMPLE")]
    [InlineData("https://app.example")]
    public void Check_HeaderAndOwnOrAllowedOrNoOrigin_Allowed(string? origin)
        => Assert.Null(BffCsrf.Check(Request("POST", "1", origin), Allowed));

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("null")]
    [InlineData("http://relay.example")]
    [InlineData("https://relay.example:8443")]
    [InlineData("https://relay.example.evil.example")]
    public void Check_HeaderButForeignOrigin_Refused(string origin)
        => Assert.NotNull(BffCsrf.Check(Request("POST", "1", origin), Allowed));

    [Fact]
    public void Check_TwoCsrfHeaders_Refused()
    {
        var context = Request("POST");
        context.Request.Headers[BffDefaults.CsrfHeader] = new(["1", "1"]);
        Assert.NotNull(BffCsrf.Check(context, Allowed));
    }

    [Theory]
    [InlineData("same-origin", null, null)]
    [InlineData("none", null, null)]
    [InlineData("same-site", null, "https://app.example/page")]
    [InlineData("cross-site", null, "https://app.example/")]
    [InlineData(null, "https://relay.example", null)]
    [InlineData(null, null, "https://relay.example/notes")]
    [InlineData(null, null, "https://app.example/x")]
    public void IsSameOriginNavigation_FromOwnOrAllowedPages_True(string? fetchSite, string? origin, string? referer)
        => Assert.True(BffCsrf.IsSameOriginNavigation(Navigation(fetchSite, origin, referer), Allowed));

    [Theory]
    [InlineData("cross-site", null, null)]
    [InlineData("same-site", null, null)]
    [InlineData("same-site", null, "https://sibling.relay.example/")]
    [InlineData("cross-site", null, "https://relay.example/")]
    [InlineData(null, null, null)]
    [InlineData(null, "https://evil.example", null)]
    [InlineData(null, null, "https://evil.example/page")]
    [InlineData(null, null, "not a url")]
    public void IsSameOriginNavigation_FromElsewhereOrUnknown_False(string? fetchSite, string? origin, string? referer)
        => Assert.False(BffCsrf.IsSameOriginNavigation(Navigation(fetchSite, origin, referer), Allowed));

    private static DefaultHttpContext Navigation(string? fetchSite, string? origin, string? referer)
    {
        var context = Request("GET", origin: origin);
        if (fetchSite is not null)
        {
            context.Request.Headers["Sec-Fetch-Site"] = fetchSite;
        }

        if (referer is not null)
        {
            context.Request.Headers.Referer = referer;
        }

        return context;
    }

    private static DefaultHttpContext Request(string method, string? csrf = null, string? origin = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("relay.example");
        if (csrf is not null)
        {
            context.Request.Headers[BffDefaults.CsrfHeader] = csrf;
        }

        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }

        return context;
    }
}
