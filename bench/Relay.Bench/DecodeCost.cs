using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;

namespace Relay.Bench;

/// <summary>
/// <c>Relay.Bench --decode-cost</c>: what one delivered <c>Event</c> costs a .NET client to decode, per hub protocol, with
/// a record shaped like the bench's. Relay serializes each event once per protocol; each client decodes every delivery,
/// so at 10,000 connections this cost, not Relay's, multiplies.
/// </summary>
internal static class DecodeCost
{
    public static int Run()
    {
        var record = JsonDocument.Parse("""{"collectionId":"abcdefghij12345","collectionName":"bench_public","created":"2026-11-30 09:00:00.000Z","id":"abcdefghij12345","sentAt":1796029200123456.5,"title":"bench 12345","updated":"2026-11-30 09:00:00.000Z"}""").RootElement.Clone();
        var message = new InvocationMessage(nameof(IRelayClient.Event), [new RelayEvent { Topic = "bench_public/*", Action = "create", Record = record }]);
        IHubProtocol[] protocols =
        [
            new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions())),
            new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions { SerializerOptions = RelayMessagePack.SerializerOptions })),
        ];
        foreach (var protocol in protocols)
        {
            var frame = protocol.GetMessageBytes(message);
            const int Iterations = 200_000;
            Decode(protocol, frame, 10_000);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            Decode(protocol, frame, Iterations);
            var ns = clock.Elapsed.TotalNanoseconds / Iterations;
            allocated = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Iterations;
            var encode = Stopwatch.StartNew();
            for (var i = 0; i < Iterations / 10; i++)
            {
                protocol.GetMessageBytes(message);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{protocol.Name}: frame {frame.Length} B; client decode {ns:0} ns, {allocated} B allocated per delivery; server encode {encode.Elapsed.TotalNanoseconds / (Iterations / 10):0} ns per event (once per event, not per delivery)"));
        }

        return 0;
    }

    private static void Decode(IHubProtocol protocol, ReadOnlyMemory<byte> frame, int iterations)
    {
        for (var i = 0; i < iterations; i++)
        {
            var input = new ReadOnlySequence<byte>(frame);
            if (!protocol.TryParseMessage(ref input, Binder.Instance, out var parsed) || ((RelayEvent)((InvocationMessage)parsed).Arguments[0]!).Record.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidOperationException("Decode failed.");
            }
        }
    }

    private sealed class Binder : IInvocationBinder
    {
        public static readonly Binder Instance = new();

        public IReadOnlyList<Type> GetParameterTypes(string methodName) => [typeof(RelayEvent)];

        public Type GetReturnType(string invocationId) => throw new NotSupportedException();

        public Type GetStreamItemType(string streamId) => throw new NotSupportedException();
    }
}
