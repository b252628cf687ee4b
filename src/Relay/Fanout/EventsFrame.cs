using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;

namespace Relay.Fanout;

/// <summary>
/// Turns a run of already serialized <c>Event</c> frames into one <c>Events</c> frame without serializing any event again.
/// Every event is serialized once per hub protocol for all its recipients (<see cref="Microsoft.AspNetCore.SignalR.SerializedHubMessage"/>);
/// batches differ per connection, so serializing an <c>Events</c> invocation per connection would undo that. Instead the
/// event's argument bytes are cut out of its cached frame and spliced into an <c>Events</c> envelope. The envelopes are
/// learnt from the protocol itself (a frame with a <c>null</c> argument), and every frame is checked against them; a
/// protocol or frame this does not know is serialized the ordinary way.
/// </summary>
internal sealed class EventsFrame
{
    private static readonly ConcurrentDictionary<(string Name, int Version), EventsFrame> Cache = new();

    private readonly IHubProtocol _protocol;
    private readonly Framing _framing;
    private readonly byte[] _eventPrefix = [];
    private readonly byte[] _eventSuffix = [];
    private readonly byte[] _eventsPrefix = [];
    private readonly byte[] _eventsSuffix = [];

    private EventsFrame(IHubProtocol protocol)
    {
        _protocol = protocol;
        _framing = protocol.Name switch
        {
            "json" => Framing.Text,
            "messagepack" => Framing.LengthPrefixed,
            _ => Framing.Unknown,
        };
        if (_framing == Framing.Unknown
            || !TrySplitTemplate(nameof(IRelayClient.Event), out _eventPrefix, out _eventSuffix)
            || !TrySplitTemplate(nameof(IRelayClient.Events), out _eventsPrefix, out _eventsSuffix))
        {
            _framing = Framing.Unknown;
        }
    }

    private enum Framing
    {
        /// <summary>Serialize <c>Events</c> per batch (correct, costlier).</summary>
        Unknown,

        /// <summary>JSON text frames ending with the record separator.</summary>
        Text,

        /// <summary>MessagePack frames after a variable-length size prefix.</summary>
        LengthPrefixed,
    }

    public static EventsFrame For(IHubProtocol protocol) => Cache.GetOrAdd((protocol.Name, protocol.Version), static (_, p) => new EventsFrame(p), protocol);

    /// <summary>True when <paramref name="message"/> is a single-event <c>Event</c> invocation, the only kind a batch merges.</summary>
    public static bool IsEvent(in OutboundMessage message)
        => message.Message.Message is InvocationMessage { Target: nameof(IRelayClient.Event), InvocationId: null, Arguments: [RelayEvent] };

    /// <summary>Writes <paramref name="events"/> (each <see cref="IsEvent"/>) as one <c>Events</c> frame.</summary>
    public void Write(ReadOnlySpan<OutboundMessage> events, PooledBuffer output)
    {
        if (_framing == Framing.Unknown || !TryWriteSpliced(events, output))
        {
            var batch = new RelayEvent[events.Length];
            for (var i = 0; i < events.Length; i++)
            {
                batch[i] = (RelayEvent)((InvocationMessage)events[i].Message.Message!).Arguments[0]!;
            }

            _protocol.WriteMessage(new InvocationMessage(nameof(IRelayClient.Events), [batch]), output);
        }
    }

    private bool TryWriteSpliced(ReadOnlySpan<OutboundMessage> events, PooledBuffer output)
    {
        // Collect (and validate) every argument first, so nothing is written when one frame is not in the expected shape.
        var arguments = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(events.Length);
        try
        {
            var argumentBytes = 0;
            for (var i = 0; i < events.Length; i++)
            {
                if (!TryGetArgument(events[i].Message.GetSerializedMessage(_protocol), out arguments[i]))
                {
                    return false;
                }

                argumentBytes += arguments[i].Length;
            }

            if (_framing == Framing.Text)
            {
                output.Write(_eventsPrefix);
                output.WriteByte((byte)'[');
                for (var i = 0; i < events.Length; i++)
                {
                    if (i > 0)
                    {
                        output.WriteByte((byte)',');
                    }

                    output.Write(arguments[i].Span);
                }

                output.WriteByte((byte)']');
                output.Write(_eventsSuffix);
                return true;
            }

            Span<byte> header = stackalloc byte[5];
            var headerLength = WriteArrayHeader(header, events.Length);
            Span<byte> lengthPrefix = stackalloc byte[5];
            var payloadLength = _eventsPrefix.Length + headerLength + argumentBytes + _eventsSuffix.Length;
            output.Write(lengthPrefix[..WriteLengthPrefix(lengthPrefix, payloadLength)]);
            output.Write(_eventsPrefix);
            output.Write(header[..headerLength]);
            for (var i = 0; i < events.Length; i++)
            {
                output.Write(arguments[i].Span);
            }

            output.Write(_eventsSuffix);
            return true;
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(arguments, clearArray: true);
        }
    }

    /// <summary>The serialized argument of an <c>Event</c> frame: the frame minus the envelope learnt from the template.</summary>
    private bool TryGetArgument(ReadOnlyMemory<byte> frame, out ReadOnlyMemory<byte> argument)
    {
        argument = default;
        var start = 0;
        if (_framing == Framing.LengthPrefixed)
        {
            if (!TryStripLengthPrefix(frame.Span, out var payload))
            {
                return false;
            }

            start = frame.Length - payload.Length;
        }

        var span = frame.Span[start..];
        if (span.Length <= _eventPrefix.Length + _eventSuffix.Length || !span.StartsWith(_eventPrefix) || !span.EndsWith(_eventSuffix))
        {
            return false;
        }

        argument = frame[(start + _eventPrefix.Length)..^_eventSuffix.Length];
        return true;
    }

    private bool TrySplitTemplate(string target, out byte[] prefix, out byte[] suffix)
    {
        prefix = suffix = [];
        var writer = new ArrayBufferWriter<byte>();
        _protocol.WriteMessage(new InvocationMessage(target, [null]), writer);
        var frame = writer.WrittenSpan;
        if (_framing == Framing.LengthPrefixed && !TryStripLengthPrefix(frame, out frame))
        {
            return false;
        }

        ReadOnlySpan<byte> nil = _framing == Framing.Text ? "null"u8 : [0xC0];
        var at = frame.LastIndexOf(nil);
        if (at < 0)
        {
            return false;
        }

        prefix = frame[..at].ToArray();
        suffix = frame[(at + nil.Length)..].ToArray();
        return true;
    }

    /// <summary>SignalR's binary framing: the payload size as a little-endian base-128 varint of at most 5 bytes.</summary>
    private static bool TryStripLengthPrefix(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        var length = 0;
        for (var i = 0; i < Math.Min(frame.Length, 5); i++)
        {
            length |= (frame[i] & 0x7F) << (7 * i);
            if ((frame[i] & 0x80) == 0)
            {
                payload = frame[(i + 1)..];
                return payload.Length == length;
            }
        }

        return false;
    }

    private static int WriteLengthPrefix(Span<byte> destination, int length)
    {
        var i = 0;
        do
        {
            var current = (byte)(length & 0x7F);
            length >>= 7;
            destination[i++] = length > 0 ? (byte)(current | 0x80) : current;
        }
        while (length > 0);

        return i;
    }

    private static int WriteArrayHeader(Span<byte> destination, int count)
    {
        if (count <= 15)
        {
            destination[0] = (byte)(0x90 | count);
            return 1;
        }

        if (count <= ushort.MaxValue)
        {
            destination[0] = 0xDC;
            destination[1] = (byte)(count >> 8);
            destination[2] = (byte)count;
            return 3;
        }

        destination[0] = 0xDD;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(destination[1..], count);
        return 5;
    }
}
