using System.Text.Json;
using MessagePack;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Protocol;

public class RelayMessagePackTests
{
    [Fact]
    public void RelayEvent_RoundTripsTheWholeRecord()
    {
        const string Record = """{"id":"r1","title":"ünïcode \"q\"","n":42,"big":12345678901234,"f":1.5,"ok":true,"none":null,"tags":["a",{"b":[1,2]}],"expand":{"owner":{"id":"u1"}}}""";
        var original = new RelayEvent { Topic = "notes/*", Action = RelayActions.Update, Record = JsonDocument.Parse(Record).RootElement.Clone() };

        var bytes = MessagePackSerializer.Serialize(original, RelayMessagePack.SerializerOptions);
        var copy = MessagePackSerializer.Deserialize<RelayEvent>(bytes, RelayMessagePack.SerializerOptions);

        Assert.Equal("notes/*", copy.Topic);
        Assert.Equal("update", copy.Action);
        Assert.True(JsonElement.DeepEquals(original.Record, copy.Record), JsonSerializer.Serialize(copy.Record));
    }

    [Fact]
    public void RelayEvent_IsAMapWithTheWireNames()
    {
        var bytes = MessagePackSerializer.Serialize(
            new RelayEvent { Topic = "notes/*", Action = "create", Record = JsonDocument.Parse("{}").RootElement, Offset = "e1-7" },
            RelayMessagePack.SerializerOptions);

        var json = MessagePackSerializer.ConvertToJson(bytes);
        Assert.Equal("""{"topic":"notes/*","action":"create","record":{},"offset":"e1-7"}""", json);
    }

    [Fact]
    public void DefaultResolver_WouldDropTheRecord()
    {
        // Why the formatter exists: without it a JsonElement travels as an empty map.
        var record = JsonDocument.Parse("""{"id":"r1"}""").RootElement;
        var bytes = MessagePackSerializer.Serialize(record, MessagePack.Resolvers.ContractlessStandardResolver.Options);

        Assert.Equal("{}", MessagePackSerializer.ConvertToJson(bytes));
        Assert.Equal("""{"id":"r1"}""", MessagePackSerializer.ConvertToJson(MessagePackSerializer.Serialize(record, RelayMessagePack.SerializerOptions)));
    }
}
