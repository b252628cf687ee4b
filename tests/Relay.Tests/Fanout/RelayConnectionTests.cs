using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Client.Protocol;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public class RelayConnectionTests
{
    private static (RelayConnection Connection, RecordingContext Context) Create(string protocol, int version, int maxBatch = 64)
    {
        var context = new RecordingContext(HubProtocols.ByName(protocol));
        var connection = new RelayConnection(context, new FanoutOptions { MaxBatchSize = maxBatch }, 20, TimeProvider.System, new TestMetrics().Metrics, NullLogger.Instance)
        {
            ProtocolVersion = version,
        };
        return (connection, context);
    }

    [Theory]
    [InlineData("json", 1)]
    [InlineData("json", 2)]
    [InlineData("messagepack", 2)]
    public async Task WriteLoop_LoneEvent_SentAtOnceAsEvent(string protocol, int version)
    {
        var (connection, context) = Create(protocol, version);
        var message = HubProtocols.Event(1);
        connection.Start();

        connection.Enqueue(message);
        await context.WaitForWritesAsync(1);

        Assert.Same(message.Message, Assert.Single(context.Writes));
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public async Task WriteLoop_Version1Backlog_SameBytesInFewerWrites(string protocol)
    {
        var (connection, context) = Create(protocol, version: 1, maxBatch: 64);
        var messages = Enumerable.Range(1, 200).Select(HubProtocols.Event).ToList();
        messages.Insert(50, HubProtocols.Resync("overflow"));
        foreach (var message in messages)
        {
            connection.Enqueue(message);
        }

        connection.Start();
        await context.WaitForBytesAsync(messages.Sum(m => HubProtocols.Frame(context.Protocol, m).Length));

        // Queued before the writer started: 201 messages in batches of at most 64, byte for byte what one-by-one sent.
        Assert.Equal(4, context.Writes.Count);
        Assert.Equal(messages.SelectMany(m => HubProtocols.Frame(context.Protocol, m)), context.Bytes());
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public async Task WriteLoop_Version2Backlog_EventsBatchesInOrderEachEventOnce(string protocol)
    {
        var (connection, context) = Create(protocol, version: 2, maxBatch: 64);
        var expected = new List<(string, string)>();
        for (var i = 1; i <= 150; i++)
        {
            connection.Enqueue(HubProtocols.Event(i));
            if (i == 100)
            {
                connection.EnqueueControl(HubProtocols.Resync("upstream_reconnected").Message);
            }
        }

        connection.Start();
        await context.WaitForWritesAsync(3);
        var delivered = HubProtocols.Describe(HubProtocols.Parse(context.Protocol, context.Bytes()));

        Assert.Equal(Enumerable.Range(1, 150).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), delivered.Where(d => d.Method != "Resync").Select(d => d.Value));
        Assert.Equal(("Resync", "upstream_reconnected"), delivered[100]);
        Assert.All(delivered.Where(d => d.Method != "Resync"), d => Assert.Equal(nameof(IRelayClient.Events), d.Method));
        Assert.Equal(3, context.Writes.Count);
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>A hub connection that records what is written to it instead of sending it.</summary>
    private sealed class RecordingContext(IHubProtocol protocol)
        : HubConnectionContext(new DefaultConnectionContext(), new HubConnectionContextOptions { KeepAliveInterval = TimeSpan.FromMinutes(1), ClientTimeoutInterval = TimeSpan.FromMinutes(2) }, NullLoggerFactory.Instance)
    {
        private readonly Lock _gate = new();
        private readonly List<SerializedHubMessage> _writes = [];

        public override IHubProtocol Protocol => protocol;

        public IReadOnlyList<SerializedHubMessage> Writes
        {
            get
            {
                lock (_gate)
                {
                    return [.. _writes];
                }
            }
        }

        public byte[] Bytes() => [.. Writes.SelectMany(w => w.GetSerializedMessage(protocol).ToArray())];

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            // Copy: the writer returns its pooled buffer once the write completes.
            var copy = new SerializedHubMessage([new SerializedMessage(protocol.Name, message.GetSerializedMessage(protocol).ToArray())]);
            lock (_gate)
            {
                _writes.Add(message.Message is null ? copy : message);
            }

            return default;
        }

        public Task WaitForWritesAsync(int count) => WaitAsync(() => Writes.Count >= count);

        public Task WaitForBytesAsync(int length) => WaitAsync(() => Bytes().Length >= length);

        private static async Task WaitAsync(Func<bool> done)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!done())
            {
                await Task.Delay(10, timeout.Token);
            }
        }
    }
}
