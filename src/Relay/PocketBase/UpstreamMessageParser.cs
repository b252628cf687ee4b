using System.Text.Json;
using Relay.Client.Protocol;

namespace Relay.PocketBase;

/// <summary>Parses the <c>data</c> of PocketBase's SSE messages (an <see cref="System.Net.ServerSentEvents.SseItemParser{T}"/>).</summary>
internal static class UpstreamMessageParser
{
    public const string ConnectEventType = "PB_CONNECT";

    public static UpstreamMessage Parse(string eventType, ReadOnlySpan<byte> data)
    {
        string? clientId = null;
        string? action = null;
        JsonElement record = default;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("action"u8))
                {
                    reader.Read();
                    action = ReadAction(ref reader);
                }
                else if (reader.ValueTextEquals("record"u8))
                {
                    reader.Read();
                    record = JsonElement.ParseValue(ref reader);
                }
                else if (reader.ValueTextEquals("clientId"u8))
                {
                    reader.Read();
                    clientId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // A message that is not the JSON PocketBase documents is reported as empty; the reader logs and skips it
            // rather than tearing down the whole user's stream.
            return default;
        }

        return new UpstreamMessage(clientId, action, record);
    }

    // The three actions are returned as the shared constants so the hot path allocates no strings for them.
    private static string? ReadAction(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return null;
        }

        if (reader.ValueTextEquals("create"u8))
        {
            return RelayActions.Create;
        }

        if (reader.ValueTextEquals("update"u8))
        {
            return RelayActions.Update;
        }

        return reader.ValueTextEquals("delete"u8) ? RelayActions.Delete : reader.GetString();
    }
}
