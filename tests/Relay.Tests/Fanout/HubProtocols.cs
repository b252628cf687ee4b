using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

/// <summary>The two hub protocols Relay serves, configured as Relay configures them, and helpers to read their frames back.</summary>
internal static class HubProtocols
{
    public static IHubProtocol Json { get; } = new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions()));

    public static IHubProtocol MessagePack { get; } = new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions { SerializerOptions = RelayMessagePack.SerializerOptions }));

    public static TheoryData<string> Names => ["json", "messagepack"];

    public static IHubProtocol ByName(string name) => name == "json" ? Json : MessagePack;

    /// <summary>An event message as <c>UserSession</c> builds it: one serialize-once <c>Event</c> invocation, keyed by record.</summary>
    public static OutboundMessage Event(int sequence)
    {
        var record = JsonDocument.Parse($$$"""{"id":"r{{{sequence}}}","title":"note {{{sequence}}}","n":{{{sequence}}},"tags":["a","b"],"nested":{"ok":true,"none":null}}""").RootElement.Clone();
        var relayEvent = new RelayEvent { Topic = "notes/*", Action = RelayActions.Update, Record = record };
        return new OutboundMessage(new SerializedHubMessage(new InvocationMessage(nameof(IRelayClient.Event), [relayEvent])), $"notes/*\nr{sequence}");
    }

    public static OutboundMessage Resync(string reason)
        => OutboundMessage.Control(new SerializedHubMessage(new InvocationMessage(nameof(IRelayClient.Resync), [new ResyncSignal { Topics = ["notes/*"], Reason = reason }])));

    public static byte[] Frame(IHubProtocol protocol, OutboundMessage message) => message.Message.GetSerializedMessage(protocol).ToArray();

    /// <summary>Parses every frame in <paramref name="bytes"/>, failing on anything left over.</summary>
    public static List<InvocationMessage> Parse(IHubProtocol protocol, ReadOnlyMemory<byte> bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        var messages = new List<InvocationMessage>();
        while (protocol.TryParseMessage(ref sequence, Binder.Instance, out var message))
        {
            messages.Add(Assert.IsType<InvocationMessage>(message));
        }

        Assert.Equal(0, sequence.Length);
        return messages;
    }

    /// <summary>What a client sees: each delivered event as (method, record n), control messages as (method, reason).</summary>
    public static List<(string Method, string Value)> Describe(IEnumerable<InvocationMessage> messages)
    {
        var described = new List<(string, string)>();
        foreach (var message in messages)
        {
            switch (message.Arguments[0])
            {
                case RelayEvent single:
                    described.Add((message.Target, single.Record.GetProperty("n").ToString()));
                    break;
                case RelayEvent[] batch:
                    described.AddRange(batch.Select(e => (message.Target, e.Record.GetProperty("n").ToString())));
                    break;
                case ResyncSignal resync:
                    described.Add((message.Target, resync.Reason));
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected argument in {message.Target}.");
            }
        }

        return described;
    }

    private sealed class Binder : IInvocationBinder
    {
        public static readonly Binder Instance = new();

        public IReadOnlyList<Type> GetParameterTypes(string methodName) => methodName switch
        {
            nameof(IRelayClient.Event) => [typeof(RelayEvent)],
            nameof(IRelayClient.Events) => [typeof(RelayEvent[])],
            nameof(IRelayClient.Resync) => [typeof(ResyncSignal)],
            _ => throw new InvalidOperationException($"Unknown method {methodName}."),
        };

        public Type GetReturnType(string invocationId) => throw new NotSupportedException();

        public Type GetStreamItemType(string streamId) => throw new NotSupportedException();
    }
}
