using Relay.Bff;

namespace Relay.Tests.Bff;

public class BffOAuth2EndpointsTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/notes")]
    [InlineData("/notes?x=1#top")]
    public void IsLocalUrl_PathsOnThisSite_True(string url) => Assert.True(BffOAuth2Endpoints.IsLocalUrl(url));

    [Theory]
    [InlineData("")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("notes")]
    [InlineData("/notes\r\nSet-Cookie: x=1")]
    public void IsLocalUrl_AnythingElse_False(string url) => Assert.False(BffOAuth2Endpoints.IsLocalUrl(url));
}
