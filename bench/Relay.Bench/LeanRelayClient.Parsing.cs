using System.Text.Json;
using MessagePack;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;

namespace Relay.Bench;

/// <summary>Reading the hub protocol's messages out of the receive buffer: JSON and MessagePack.</summary>
internal sealed partial class LeanRelayClient
{
    /// <summary>Handles every complete JSON hub message in the buffer; returns the bytes they took.</summary>
    private int ParseJson()
    {
        var start = 0;
        int end;
        while ((end = Array.IndexOf(_buffer, RecordSeparator, start, _buffered - start)) >= 0)
        {
            using var message = JsonDocument.Parse(_buffer.AsMemory(start, end - start));
            var root = message.RootElement;
            switch (root.GetProperty("type").GetInt32())
            {
                case HubProtocolConstants.InvocationMessageType when root.GetProperty("target").ValueEquals(nameof(IRelayClient.Event)):
                    _sink.Deliver(root.GetProperty("arguments")[0].GetProperty("record"));
                    break;
                case HubProtocolConstants.InvocationMessageType when root.GetProperty("target").ValueEquals(nameof(IRelayClient.Events)):
                    foreach (var e in root.GetProperty("arguments")[0].EnumerateArray())
                    {
                        _sink.Deliver(e.GetProperty("record"));
                    }

                    break;
                case HubProtocolConstants.CompletionMessageType:
                    Complete(root.GetProperty("invocationId").GetString()!, root.TryGetProperty("error", out var error) ? error.GetString() : null);
                    break;
                case HubProtocolConstants.CloseMessageType:
                    var reason = root.TryGetProperty("error", out var closeError) ? closeError.GetString() : "no error";
                    Stopped($"Relay sent Close: {reason}");
                    FailPending(new InvalidOperationException($"Relay closed the connection: {reason}"));
                    break;
            }

            start = end + 1;
        }

        return start;
    }

    /// <summary>Handles every complete MessagePack hub message (each prefixed by its length as a VarInt) in the buffer.</summary>
    private int ParseMessagePack()
    {
        var start = 0;
        while (TryReadLength(start, out var length, out var prefix) && start + prefix + length <= _buffered)
        {
            var reader = new MessagePackReader(new ReadOnlyMemory<byte>(_buffer, start + prefix, length));
            var fields = reader.ReadArrayHeader();
            switch (reader.ReadInt32())
            {
                case HubProtocolConstants.InvocationMessageType:
                    reader.Skip(); // headers
                    reader.Skip(); // invocation id (none: the server expects no answer)
                    var target = reader.ReadString();
                    reader.ReadArrayHeader();
                    if (target == nameof(IRelayClient.Event))
                    {
                        ReadEvent(ref reader);
                    }
                    else if (target == nameof(IRelayClient.Events))
                    {
                        for (var count = reader.ReadArrayHeader(); count > 0; count--)
                        {
                            ReadEvent(ref reader);
                        }
                    }

                    break;
                case HubProtocolConstants.CompletionMessageType:
                    reader.Skip(); // headers
                    var id = reader.ReadString()!;
                    Complete(id, fields > 3 && reader.ReadInt32() == 1 ? reader.ReadString() : null);
                    break;
                case HubProtocolConstants.CloseMessageType:
                    var reason = reader.TryReadNil() ? "no error" : reader.ReadString();
                    Stopped($"Relay sent Close: {reason}");
                    FailPending(new InvalidOperationException($"Relay closed the connection: {reason}"));
                    break;
            }

            start += prefix + length;
        }

        return start;
    }

    /// <summary>
    /// One <see cref="RelayEvent"/> map, every token of it read as a JSON parser reads every token of the JSON path's
    /// message (strings as UTF-8 spans of the buffer, as <see cref="JsonDocument"/> keeps them): the record's
    /// <c>sentAt</c> goes to the sink. No conversion to JSON, which a MessagePack client has no reason to make.
    /// </summary>
    private void ReadEvent(ref MessagePackReader reader)
    {
        for (var fields = reader.ReadMapHeader(); fields > 0; fields--)
        {
            if (ReadKey(ref reader, "record"u8) && reader.NextMessagePackType == MessagePackType.Map)
            {
                double? sentAt = null;
                for (var recordFields = reader.ReadMapHeader(); recordFields > 0; recordFields--)
                {
                    if (ReadKey(ref reader, "sentAt"u8) && reader.NextMessagePackType is MessagePackType.Float or MessagePackType.Integer)
                    {
                        sentAt = reader.NextMessagePackType == MessagePackType.Float ? reader.ReadDouble() : reader.ReadInt64();
                    }
                    else
                    {
                        ReadValue(ref reader);
                    }
                }

                if (sentAt is { } value)
                {
                    _sink(value);
                }
            }
            else
            {
                ReadValue(ref reader);
            }
        }
    }

    /// <summary>Reads a map key and compares it (the message is one contiguous buffer, so the key is one segment of it).</summary>
    private static bool ReadKey(ref MessagePackReader reader, ReadOnlySpan<byte> expected)
        => reader.ReadStringSequence() is { IsSingleSegment: true } key && key.FirstSpan.SequenceEqual(expected);

    /// <summary>Reads one value and everything in it (a scalar's header and bytes).</summary>
    private static void ReadValue(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                for (var count = reader.ReadMapHeader() * 2; count > 0; count--)
                {
                    ReadValue(ref reader);
                }

                break;
            case MessagePackType.Array:
                for (var count = reader.ReadArrayHeader(); count > 0; count--)
                {
                    ReadValue(ref reader);
                }

                break;
            default:
                reader.Skip();
                break;
        }
    }

    /// <summary>Reads a message's length prefix (a VarInt of at most 5 bytes); false while it is not all buffered yet.</summary>
    private bool TryReadLength(int start, out int length, out int prefix)
    {
        length = 0;
        for (prefix = 0; start + prefix < _buffered; prefix++)
        {
            if (prefix == 5)
            {
                throw new InvalidDataException("A MessagePack hub message's length prefix is longer than 5 bytes.");
            }

            var b = _buffer[start + prefix];
            length |= (b & 0x7f) << (7 * prefix);
            if ((b & 0x80) == 0)
            {
                prefix++;
                return true;
            }
        }

        return false;
    }
}
