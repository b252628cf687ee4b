using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Relay.Client.Protocol;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public class OutboundBatchTests
{
    private static byte[] Write(IHubProtocol protocol, OutboundMessage[] messages, bool version2)
    {
        using var buffer = new PooledBuffer(16);
        OutboundBatch.Write(messages, protocol, version2 ? EventsFrame.For(protocol) : null, buffer);
        return buffer.WrittenMemory.ToArray();
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public void Write_Version1_SendsExactlyTheFramesItSentOneByOne(string name)
    {
        var protocol = HubProtocols.ByName(name);
        OutboundMessage[] messages = [HubProtocols.Event(1), HubProtocols.Event(2), HubProtocols.Resync("overflow"), HubProtocols.Event(3)];

        var bytes = Write(protocol, messages, version2: false);

        Assert.Equal(messages.SelectMany(m => HubProtocols.Frame(protocol, m)), bytes);
        Assert.All(HubProtocols.Parse(protocol, bytes), m => Assert.NotEqual(nameof(IRelayClient.Events), m.Target));
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public void Write_Version2_ConsecutiveEventsBecomeOneEventsFrame_ControlMessagesKeepTheirPlace(string name)
    {
        var protocol = HubProtocols.ByName(name);
        OutboundMessage[] messages =
        [
            HubProtocols.Event(1), HubProtocols.Event(2), HubProtocols.Event(3),
            HubProtocols.Resync("overflow"),
            HubProtocols.Event(4),
            HubProtocols.Resync("upstream_reconnected"),
            HubProtocols.Event(5), HubProtocols.Event(6),
        ];

        var parsed = HubProtocols.Parse(protocol, Write(protocol, messages, version2: true));

        Assert.Equal(["Events", "Resync", "Event", "Resync", "Events"], parsed.Select(m => m.Target));
        Assert.Equal(
            [("Events", "1"), ("Events", "2"), ("Events", "3"), ("Resync", "overflow"), ("Event", "4"), ("Resync", "upstream_reconnected"), ("Events", "5"), ("Events", "6")],
            HubProtocols.Describe(parsed));
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public void Write_Version2_SplicedFrameIsByteForByteWhatSerializingEventsWouldGive(string name)
    {
        var protocol = HubProtocols.ByName(name);
        // 20 events: past MessagePack's 15-element fixarray, so the 16-bit array header is exercised too.
        var messages = Enumerable.Range(1, 20).Select(HubProtocols.Event).ToArray();

        var bytes = Write(protocol, messages, version2: true);

        var events = messages.Select(m => (RelayEvent)((InvocationMessage)m.Message.Message!).Arguments[0]!).ToArray();
        Assert.Equal(protocol.GetMessageBytes(new InvocationMessage(nameof(IRelayClient.Events), [events])).ToArray(), bytes);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => ("Events", i.ToString(System.Globalization.CultureInfo.InvariantCulture))), HubProtocols.Describe(HubProtocols.Parse(protocol, bytes)));
    }

    [Fact]
    public void Write_Version2_LargeRecordsNeedingLongerLengthPrefix_StillParse()
    {
        var protocol = HubProtocols.MessagePack;
        var messages = Enumerable.Range(1, 64).Select(HubProtocols.Event).ToArray();

        var parsed = HubProtocols.Parse(protocol, Write(protocol, messages, version2: true));

        Assert.Equal(Enumerable.Range(1, 64).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), HubProtocols.Describe(parsed).Select(d => d.Value));
    }

    [Fact]
    public void Write_Version2_UnknownProtocol_SerializesEventsTheOrdinaryWay()
    {
        var protocol = new RenamedProtocol(HubProtocols.Json);
        OutboundMessage[] messages = [HubProtocols.Event(1), HubProtocols.Event(2), HubProtocols.Resync("overflow")];

        var parsed = HubProtocols.Parse(HubProtocols.Json, Write(protocol, messages, version2: true));

        Assert.Equal([("Events", "1"), ("Events", "2"), ("Resync", "overflow")], HubProtocols.Describe(parsed));
    }

    /// <summary>The JSON protocol under another name: the splicing does not know it and must fall back.</summary>
    private sealed class RenamedProtocol(IHubProtocol inner) : IHubProtocol
    {
        public string Name => "json-renamed";

        public int Version => inner.Version;

        public TransferFormat TransferFormat => inner.TransferFormat;

        public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => inner.GetMessageBytes(message);

        public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);

        public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message)
            => inner.TryParseMessage(ref input, binder, out message);

        public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => inner.WriteMessage(message, output);
    }
}
