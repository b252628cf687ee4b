using System.Buffers.Text;
using System.Text;
using Relay.Auth;

namespace Relay.Tests.Auth;

public class JwtPayloadTests
{
    internal static string Token(string payloadJson)
        => "eyJhbGciOiJIUzI1NiJ9." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson)) + ".c2ln";

    [Fact]
    public void TryRead_PocketBaseRecordToken_ReturnsCollectionAndExpiry()
    {
        Assert.True(JwtPayload.TryRead(Token("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1","type":"authRecord"}"""), out var payload));
        Assert.Equal("_pb_users_auth_", payload.CollectionId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1900000000), payload.ExpiresAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.!!!.c")]
    public void TryRead_NotAJwt_ReturnsFalse(string token) => Assert.False(JwtPayload.TryRead(token, out _));

    [Theory]
    [InlineData("""{"exp":1900000000,"type":"admin","id":"a1"}""")]
    [InlineData("""{"collectionId":"users"}""")]
    [InlineData("""{"collectionId":"../admins","exp":1900000000}""")]
    [InlineData("""["collectionId"]""")]
    public void TryRead_NotARecordToken_ReturnsFalse(string payloadJson) => Assert.False(JwtPayload.TryRead(Token(payloadJson), out _));
}
