using System.Text;
using Relay.Client.Protocol;
using Relay.PocketBase;

namespace Relay.Tests.Upstream;

public class UpstreamMessageParserTests
{
    [Fact]
    public void Parse_ConnectMessage_ReturnsClientId()
    {
        var message = UpstreamMessageParser.Parse("PB_CONNECT", """{"clientId":"abc123"}"""u8);

        Assert.Equal("abc123", message.ClientId);
        Assert.False(message.IsRecordEvent);
    }

    [Fact]
    public void Parse_RecordEvent_ReturnsSharedActionAndRecord()
    {
        var message = UpstreamMessageParser.Parse("notes/*", """{"action":"update","record":{"id":"r1","title":"x","n":[1,2]}}"""u8);

        Assert.True(message.IsRecordEvent);
        Assert.Same(RelayActions.Update, message.Action);
        Assert.Equal("r1", message.Record.GetProperty("id").GetString());
        Assert.Equal(2, message.Record.GetProperty("n").GetArrayLength());
    }

    [Fact]
    public void Parse_RecordOutlivesBuffer()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"action":"create","record":{"id":"r1"}}""");
        var message = UpstreamMessageParser.Parse("notes/*", bytes);
        Array.Clear(bytes);

        Assert.Equal("r1", message.Record.GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"action\":\"create\"}")]
    [InlineData("{\"action\":\"create\",\"record\":\"text\"}")]
    [InlineData("{\"action\":\"create\",\"record\":{\"id\":")]
    public void Parse_MalformedOrIncomplete_IsNotARecordEvent(string data)
    {
        Assert.False(UpstreamMessageParser.Parse("notes/*", Encoding.UTF8.GetBytes(data)).IsRecordEvent);
    }
}
