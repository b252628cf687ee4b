using System.Buffers.Text;
using System.Text;
using Relay.PocketBase;

namespace Relay.Tests.Auth;

public class JwtPayloadTests
{
    internal static string Token(string payloadJson, string headerJson = """{"alg":"HS256"}""")
        => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(headerJson)) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson)) + ".c2ln";

    [Fact]
    public void TryRead_PocketBaseRecordToken_ReturnsCollectionAndExpiry()
    {
        Assert.True(JwtPayload.TryRead(Token("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1","type":"authRecord"}"""), out var payload));
        Assert.Equal("_pb_users_auth_", payload.CollectionId);
        Assert.Equal("u1", payload.RecordId);
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
    [InlineData("""{"collectionId":"_pb_users_auth_","exp":1900000000,"type":"authRecord"}""")]
    [InlineData("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1"}""")]
    [InlineData("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1","type":"admin"}""")]
    [InlineData("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1","type":"passwordReset"}""")]
    [InlineData("""{"collectionId":"users x","exp":1900000000,"id":"u1","type":"auth"}""")]
    [InlineData("""{"collectionId":"users%2F..","exp":1900000000,"id":"u1","type":"auth"}""")]
    [InlineData("""{"collectionId":"","exp":1900000000,"id":"u1","type":"auth"}""")]
    public void TryRead_NotARecordToken_ReturnsFalse(string payloadJson) => Assert.False(JwtPayload.TryRead(Token(payloadJson), out _));

    [Fact]
    public void TryRead_0_23AuthToken_Accepted()
        => Assert.True(JwtPayload.TryRead(Token("""{"collectionId":"pbc_1736455494","exp":1900000000,"id":"u1","refreshable":true,"type":"auth"}"""), out _));

    [Theory]
    [InlineData("""{"typ":"JWT"}""")]
    [InlineData("""{"alg":5}""")]
    [InlineData("""[]""")]
    public void TryRead_HeaderWithoutAlg_ReturnsFalse(string headerJson)
        => Assert.False(JwtPayload.TryRead(Token("""{"collectionId":"_pb_users_auth_","exp":1900000000,"id":"u1","type":"authRecord"}""", headerJson), out _));
}
