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
