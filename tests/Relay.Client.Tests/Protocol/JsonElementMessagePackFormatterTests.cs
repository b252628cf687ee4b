using System.Buffers;
using System.Text.Json;
using MessagePack;
using Relay.Client.Protocol;

namespace Relay.Client.Tests.Protocol;

/// <summary>Reading every MessagePack type the formatter handles, written by hand rather than by the formatter itself.</summary>
public class JsonElementMessagePackFormatterTests
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private delegate void WriteValue(ref MessagePackWriter writer);

    private static JsonElement Read(WriteValue write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return Read(new ReadOnlySequence<byte>(buffer.WrittenMemory));
    }

    private static JsonElement Read(ReadOnlySequence<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        var element = JsonElementMessagePackFormatter.Instance.Deserialize(ref reader, RelayMessagePack.SerializerOptions);
        Assert.True(reader.End, "the whole value was read");
        return element;
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(127L)] // positive fixint
    [InlineData(-32L)] // negative fixint
    [InlineData(-100L)] // int8
    [InlineData(200L)] // uint8
    [InlineData(-30_000L)] // int16
    [InlineData(60_000L)] // uint16
    [InlineData(-2_000_000_000L)] // int32
    [InlineData(4_000_000_000L)] // uint32
    [InlineData(long.MinValue)] // int64
    [InlineData(long.MaxValue)]
    public void Integers_EveryWidth(long value)
    {
        var element = Read((ref MessagePackWriter w) => w.Write(value));

        Assert.Equal(value, element.GetInt64());
    }

    [Fact]
    public void Integer_UInt64AboveLongMax()
    {
        var element = Read((ref MessagePackWriter w) => w.Write(ulong.MaxValue));

        Assert.Equal(ulong.MaxValue, element.GetUInt64());
    }

    [Fact]
    public void Floats_SingleAndDouble()
    {
        Assert.Equal(1.5, Read((ref MessagePackWriter w) => w.Write(1.5f)).GetDouble());
        Assert.Equal(-0.1, Read((ref MessagePackWriter w) => w.Write(-0.1)).GetDouble());
        Assert.Equal(1e300, Read((ref MessagePackWriter w) => w.Write(1e300)).GetDouble());
    }

    [Fact]
    public void BooleansAndNil()
    {
        Assert.Equal(JsonValueKind.True, Read((ref MessagePackWriter w) => w.Write(true)).ValueKind);
        Assert.Equal(JsonValueKind.False, Read((ref MessagePackWriter w) => w.Write(false)).ValueKind);
        Assert.Equal(JsonValueKind.Null, Read((ref MessagePackWriter w) => w.WriteNil()).ValueKind);
    }

    [Theory]
    [InlineData(0)] // fixstr
    [InlineData(31)]
    [InlineData(200)] // str8
    [InlineData(60_000)] // str16
    [InlineData(70_000)] // str32, and a record larger than the retained per-thread buffer
    public void Strings_EveryLength(int length)
    {
        var value = new string('x', length);

        Assert.Equal(value, Read((ref MessagePackWriter w) => w.Write(value)).GetString());
    }

    [Fact]
    public void Strings_UnicodeAndCharactersJsonMustEscape()
    {
        const string Value = "ünïcode 😀 \"quoted\" back\\slash\ttab\nline\u0001 </script> &amp; +";

        Assert.Equal(Value, Read((ref MessagePackWriter w) => w.Write(Value)).GetString());
    }

    [Fact]
    public void Strings_InvalidUtf8_DecodedWithReplacementCharacters()
    {
        byte[] bad = [(byte)'a', 0xFF, (byte)'b'];

        var element = Read((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.WriteString(bad);
            w.WriteString(bad);
        });

        var property = Assert.Single(element.EnumerateObject());
        Assert.Equal("a\uFFFDb", property.Name);
        Assert.Equal("a\uFFFDb", property.Value.GetString());
    }

    [Fact]
    public void Strings_SplitAcrossSegments()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(1);
        writer.Write("name ünï");
        writer.Write("value ünïcode");
        writer.Flush();

        // One byte per segment: no string is contiguous.
        var bytes = buffer.WrittenSpan.ToArray();
        var element = Read(Segments.Of(bytes));

        Assert.Equal("value ünïcode", element.GetProperty("name ünï").GetString());
    }

    [Fact]
    public void Maps_EmptyNestedNilKeyAndEscapedNames()
    {
        var element = Read((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(4);
            w.Write("empty");
            w.WriteMapHeader(0);
            w.Write("list");
            w.WriteArrayHeader(3);
            w.WriteArrayHeader(0);
            w.Write(1);
            w.WriteMapHeader(1);
            w.Write("a\"b");
            w.WriteNil();
            w.WriteNil();
            w.Write("nil key");
            w.Write("ключ");
            w.Write(2);
        });

        Assert.Equal("""{"empty":{},"list":[[],1,{"a\"b":null}],"":"nil key","ключ":2}""", JsonSerializer.Serialize(element, Relaxed));
    }

    [Fact]
    public void Nesting_64LevelsRead_65Refused()
    {
        static WriteValue Nested(int levels) => (ref MessagePackWriter w) =>
        {
            for (var i = 0; i < levels; i++)
            {
                w.WriteArrayHeader(1);
            }

            w.Write(1);
        };

        Assert.Equal(JsonValueKind.Array, Read(Nested(64)).ValueKind);
        Assert.Throws<MessagePackSerializationException>(() => Read(Nested(65)));
    }

    [Fact]
    public void Binary_HasNoJsonEquivalent()
    {
        Assert.Throws<MessagePackSerializationException>(() => Read((ref MessagePackWriter w) => w.Write(new byte[] { 1, 2 })));
    }

    [Fact]
    public void Elements_OwnTheirBytes_AfterLaterReadsOnTheSameThread()
    {
        // The text buffer is reused per thread: an element must not point into it.
        var first = Read((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("id");
            w.Write("first");
        });
        Assert.Throws<MessagePackSerializationException>(() => Read((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("id");
            w.Write(new byte[] { 1 });
        }));
        var second = Read((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("id");
            w.Write("second, longer than the first");
        });

        Assert.Equal("first", first.GetProperty("id").GetString());
        Assert.Equal("second, longer than the first", second.GetProperty("id").GetString());
    }

    [Fact]
    public void RoundTrip_FormatterWrittenRecord()
    {
        const string Record = """{"s":"x","i":-5,"l":9007199254740993,"f":0.25,"t":true,"n":null,"a":[],"o":{"nested":[{"deep":"ü"}]}}""";
        var original = JsonDocument.Parse(Record).RootElement;

        var bytes = MessagePackSerializer.Serialize(original, RelayMessagePack.SerializerOptions);
        var copy = MessagePackSerializer.Deserialize<JsonElement>(bytes, RelayMessagePack.SerializerOptions);

        Assert.True(JsonElement.DeepEquals(original, copy), copy.GetRawText());
    }

    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Of(byte[] bytes)
        {
            var first = new Segments(bytes.AsMemory(0, 1), 0);
            var last = first;
            for (var i = 1; i < bytes.Length; i++)
            {
                var next = new Segments(bytes.AsMemory(i, 1), i);
                last.Next = next;
                last = next;
            }

            return new ReadOnlySequence<byte>(first, 0, last, 1);
        }
    }
}
