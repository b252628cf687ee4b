using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Fanout;
using Relay.PocketBase;

namespace Relay.MicroBench;

/// <summary>The per-event work Relay does between PocketBase's SSE bytes and the connections' queues.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private static readonly byte[] EventData = Encoding.UTF8.GetBytes(
        """{"action":"update","record":{"id":"abc123def456ghi","collectionId":"pbc_123","collectionName":"notes","title":"A note with a title of ordinary length","owner":"u1v2w3x4y5z6a7b","created":"2026-11-25 03:46:39.167Z","updated":"2026-11-25 03:46:39.167Z"}}""");

    private readonly JsonHubProtocol _json = new();
    private ServiceProvider _services = null!;
    private FanoutDispatcher _dispatcher = null!;
    private NullRecipient[] _recipients = null!;
    private RelayMetrics _metrics = null!;
    private UpstreamMessage _parsed;

    [Params(300, 1000)]
    public int Recipients { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _metrics = new RelayMetrics(_services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        _dispatcher = new FanoutDispatcher(Options.Create(new FanoutOptions()), _metrics);
        _recipients = Enumerable.Range(0, Recipients).Select(_ => new NullRecipient()).ToArray();
        _parsed = UpstreamMessageParser.Parse("notes/*", EventData);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary>SSE data -> action + record (once per upstream event).</summary>
    [Benchmark]
    public bool Parse() => UpstreamMessageParser.Parse("notes/*", EventData).IsRecordEvent;

    /// <summary>The record -> JSON hub frame (once per event per protocol, shared by every recipient).</summary>
    [Benchmark]
    public int SerializeOnce()
    {
        var message = new SerializedHubMessage(new InvocationMessage(nameof(IRelayClient.Event), [new RelayEvent { Topic = "notes/*", Action = _parsed.Action!, Record = _parsed.Record }]));
        return message.GetSerializedMessage(_json).Length;
    }

    /// <summary>Queue one event to every recipient, chunked by 300 (per event).</summary>
    [Benchmark]
    public ValueTask FanOut()
        => _dispatcher.DispatchAsync(_recipients, new OutboundMessage(new SerializedHubMessage(new InvocationMessage("Event", [])), "notes/*\nabc"), 0);

    private sealed class NullRecipient : IEventRecipient
    {
        private OutboundMessage _last;

        public void Enqueue(OutboundMessage message) => _last = message;
    }
}
