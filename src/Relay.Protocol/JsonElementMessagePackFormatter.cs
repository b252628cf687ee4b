using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using MessagePack;
using MessagePack.Formatters;

namespace Relay.Client.Protocol;

/// <summary>
/// Writes a <see cref="JsonElement"/> as the equivalent MessagePack value (map, array, string, number, boolean, nil)
/// and reads it back. MessagePack's contractless resolver would otherwise serialize a <see cref="JsonElement"/> as an
/// empty map, silently dropping every record.
/// Reading turns the MessagePack value into JSON text in a per-thread buffer (strings copied as UTF-8, never decoded to
/// .NET strings) and parses that once into an element that owns its bytes: a client decodes every delivery, so this
/// path allocates only the resulting element.
/// </summary>
public sealed class JsonElementMessagePackFormatter : IMessagePackFormatter<JsonElement>
{
    /// <summary>The shared instance.</summary>
    public static readonly JsonElementMessagePackFormatter Instance = new();

    private const int MaxDepth = 64;

    // A buffer that grew past this for one large record is not kept for the thread's next record.
    private const int MaxRetainedBuffer = 64 * 1024;

    // The JSON text is only parsed again, never shown or sent: escaping beyond what JSON requires would be wasted work.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    /// <inheritdoc />
    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options)
        => Write(ref writer, value, depth: 0);

    /// <inheritdoc />
    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var json = t_json ??= new Utf8JsonWriter(buffer, WriterOptions);
        json.Reset(buffer);
        try
        {
            Read(ref reader, json, depth: 0);
            json.Flush();

            // ParseValue copies the value into a document of its own (not pooled, nothing to dispose): one copy, where
            // Parse + Clone made two.
            var text = new Utf8JsonReader(buffer.WrittenSpan);
            return JsonElement.ParseValue(ref text);
        }
        finally
        {
            if (buffer.Capacity > MaxRetainedBuffer)
            {
                t_buffer = null;
                t_json = null;
            }
            else
            {
                buffer.ResetWrittenCount();
            }
        }
    }

    private static void Write(ref MessagePackWriter writer, JsonElement value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new MessagePackSerializationException($"JSON nested deeper than {MaxDepth} levels.");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value, depth + 1);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Write(ref writer, item, depth + 1);
                }

                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number:
                if (value.TryGetInt64(out var integer))
                {
                    writer.Write(integer);
                }
                else
                {
                    writer.Write(value.GetDouble());
                }

                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                // Undefined (a default JsonElement) and Null both mean "no value".
                writer.WriteNil();
                break;
        }
    }

    private static void Read(ref MessagePackReader reader, Utf8JsonWriter json, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new MessagePackSerializationException($"MessagePack nested deeper than {MaxDepth} levels.");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                var properties = reader.ReadMapHeader();
                json.WriteStartObject();
                for (var i = 0; i < properties; i++)
                {
                    WritePropertyName(ref reader, json);
                    Read(ref reader, json, depth + 1);
                }

                json.WriteEndObject();
                break;
            case MessagePackType.Array:
                var items = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (var i = 0; i < items; i++)
                {
                    Read(ref reader, json, depth + 1);
                }

                json.WriteEndArray();
                break;
            case MessagePackType.String:
                WriteString(ref reader, json);
                break;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                // Above long.MaxValue only uint64 can hold it (ReadInt64 would throw for those).
                json.WriteNumberValue(reader.ReadUInt64());
                break;
            case MessagePackType.Integer:
                json.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                json.WriteNumberValue(reader.ReadDouble());
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            default:
                throw new MessagePackSerializationException($"MessagePack type {reader.NextMessagePackType} has no JSON equivalent.");
        }
    }

    private static void WritePropertyName(ref MessagePackReader reader, Utf8JsonWriter json)
    {
        if (reader.TryReadNil())
        {
            // A nil key, read as an empty name as before.
            json.WritePropertyName(ReadOnlySpan<byte>.Empty);
        }
        else if (!reader.TryReadStringSpan(out var utf8))
        {
            // Split across buffer segments: decoded the ordinary way.
            json.WritePropertyName(reader.ReadString()!);
        }
        else if (Utf8.IsValid(utf8))
        {
            json.WritePropertyName(utf8);
        }
        else
        {
            // Not valid UTF-8: decoded with U+FFFD for the bad bytes, as MessagePack's ReadString does.
            json.WritePropertyName(Encoding.UTF8.GetString(utf8));
        }
    }

    private static void WriteString(ref MessagePackReader reader, Utf8JsonWriter json)
    {
        if (!reader.TryReadStringSpan(out var utf8))
        {
            json.WriteStringValue(reader.ReadString());
        }
        else if (Utf8.IsValid(utf8))
        {
            json.WriteStringValue(utf8);
        }
        else
        {
            json.WriteStringValue(Encoding.UTF8.GetString(utf8));
        }
    }
}
