using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Abstractions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Fanout;

namespace Relay.Tests.Fanout;

public sealed class RelayConnectionTests : IDisposable
{
    private readonly TestMetrics _metrics = new();

    public void Dispose() => _metrics.Dispose();

    private (RelayConnection Connection, RecordingContext Context) Create(string protocol, int version, int maxBatch = 64, bool statefulReconnect = false, int queueCapacity = 1024)
    {
        var transport = new DefaultConnectionContext();
        if (statefulReconnect)
        {
#pragma warning disable CA2252 // Preview interface, used as SignalR uses it.
            transport.Features.Set<IStatefulReconnectFeature>(new StatefulReconnect());
#pragma warning restore CA2252
        }

        var context = new RecordingContext(HubProtocols.ByName(protocol), transport);
        var connection = new RelayConnection(context, new FanoutOptions { MaxBatchSize = maxBatch, QueueCapacity = queueCapacity }, 20, TimeProvider.System, _metrics.Metrics, NullLogger.Instance)
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

    [Fact]
    public async Task WriteLoop_StatefulReconnectVersion1_OneWritePerMessage()
    {
        // SignalR's stateful reconnect numbers every write as one message; several frames in one write would break replay.
        var (connection, context) = Create("json", version: 1, statefulReconnect: true);
        var messages = Enumerable.Range(1, 10).Select(HubProtocols.Event).ToList();
        foreach (var message in messages)
        {
            connection.Enqueue(message);
        }

        connection.Start();
        await context.WaitForWritesAsync(10);

        Assert.Equal(messages.Select(m => m.Message), context.Writes);
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(HubProtocols.Names), MemberType = typeof(HubProtocols))]
    public async Task WriteLoop_StatefulReconnectVersion2_EachFrameItsOwnWrite_EventsBytesOwned(string protocol)
    {
        var (connection, context) = Create(protocol, version: 2, statefulReconnect: true);
        for (var i = 1; i <= 5; i++)
        {
            connection.Enqueue(HubProtocols.Event(i));
        }

        connection.EnqueueControl(HubProtocols.Resync("overflow").Message);
        connection.Enqueue(HubProtocols.Event(6));
        connection.Enqueue(HubProtocols.Event(7));
        connection.Start();
        await context.WaitForWritesAsync(3);

        // One frame per write: Events(1..5), Resync, Events(6, 7).
        var frames = context.Writes.Select(w => HubProtocols.Parse(context.Protocol, w.GetSerializedMessage(context.Protocol))).ToList();
        Assert.All(frames, f => Assert.Single(f));
        Assert.Equal(
            [("Events", "1"), ("Events", "2"), ("Events", "3"), ("Events", "4"), ("Events", "5"), ("Resync", "overflow"), ("Events", "6"), ("Events", "7")],
            HubProtocols.Describe(frames.SelectMany(f => f)));
        // Kept by SignalR for replay until acknowledged: the bytes must not be a pooled buffer returned after the write.
        Assert.All(context.OriginalWrites.Where(w => w.Message is null), w => Assert.True(
            System.Runtime.InteropServices.MemoryMarshal.TryGetArray(w.GetSerializedMessage(context.Protocol), out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length,
            "an Events frame kept for replay must own its bytes"));
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(false, 2, 0, 101)] // Events(1..50) + Resync + Events(51..63), then Events(64..100): two writes
    [InlineData(true, 3, 1, 100)]  // stateful reconnect, a frame per write: Events(1..50), Resync, Events(51..63), Events(64..100)
    public async Task WriteLoop_Backlog_CountsWritesByKindAndBatchedMessages(bool statefulReconnect, int batchWrites, int singleWritesInBacklog, int batchedMessages)
    {
        using var writes = new MetricCollector<long>(_metrics.MeterFactory, RelayMetrics.MeterName, "relay.outbound.writes");
        using var batched = new MetricCollector<long>(_metrics.MeterFactory, RelayMetrics.MeterName, "relay.outbound.batched");
        var (connection, context) = Create("json", version: 2, maxBatch: 64, statefulReconnect);
        for (var i = 1; i <= 100; i++)
        {
            connection.Enqueue(HubProtocols.Event(i));
            if (i == 50)
            {
                connection.EnqueueControl(HubProtocols.Resync("overflow").Message);
            }
        }

        connection.Start();
        await context.WaitForWritesAsync(batchWrites + singleWritesInBacklog);
        connection.Enqueue(HubProtocols.Event(101)); // the backlog is written: this one goes alone
        await context.WaitForWritesAsync(batchWrites + singleWritesInBacklog + 1);
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));

        long Writes(string kind) => writes.GetMeasurementSnapshot().Where(m => (string?)m.Tags["kind"] == kind).Sum(m => m.Value);
        Assert.Equal(batchWrites, Writes("batch"));
        Assert.Equal(singleWritesInBacklog + 1, Writes("single"));
        Assert.Equal(batchedMessages, batched.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(context.Writes.Count, Writes("batch") + Writes("single"));
    }

    [Theory]
    [InlineData("json", 1)]
    [InlineData("messagepack", 2)]
    public async Task Enqueue_IdleConnection_WrittenOnTheCallersThreadBeforeEnqueueReturns(string protocol, int version)
    {
        // No write in flight: the fan-out writes itself instead of waking a writer task.
        var (connection, context) = Create(protocol, version);
        connection.Start();

        connection.Enqueue(HubProtocols.Event(1));

        var write = Assert.Single(context.WriteThreads);
        Assert.Equal(Environment.CurrentManagedThreadId, write);
        Assert.Equal(0, connection.QueuedCount);
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("json", 1)]
    [InlineData("json", 2)]
    [InlineData("messagepack", 2)]
    public async Task Enqueue_WriteInFlight_OnlyQueues_ThenTheBacklogGoesOutInOrderWhenTheWriteCompletes(string protocol, int version)
    {
        var (connection, context) = Create(protocol, version);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Pace = index => index == 0 ? new ValueTask(gate.Task) : default;
        connection.Start();

        connection.Enqueue(HubProtocols.Event(1));
        for (var i = 2; i <= 20; i++)
        {
            connection.Enqueue(HubProtocols.Event(i));
        }

        // The first write has not completed: the other 19 wait in the queue, nothing else was written.
        Assert.Single(context.Writes);
        Assert.Equal(19, connection.QueuedCount);

        gate.SetResult();
        await context.WaitForWritesAsync(2);
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, context.Writes.Count);
        var delivered = HubProtocols.Describe(HubProtocols.Parse(context.Protocol, context.Bytes()));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), delivered.Select(d => d.Value));
        Assert.Equal(0, connection.QueuedCount);
    }

    [Theory]
    [InlineData("json", 1, false)]
    [InlineData("json", 2, false)]
    [InlineData("messagepack", 2, false)]
    [InlineData("json", 2, true)]
    public async Task Enqueue_ConcurrentWithAsyncWrites_EveryMessageOnceInOrder(string protocol, int version, bool statefulReconnect)
    {
        // The fan-out (one thread) and a second producer of control messages race with writes that sometimes complete at
        // once and sometimes later on the thread pool: every event arrives once, in order, and so does every control message.
        var (connection, context) = Create(protocol, version, statefulReconnect: statefulReconnect, queueCapacity: 100_000);
        context.Pace = static index => (index % 3) switch
        {
            0 => default,
            1 => YieldAsync(),
            _ => new ValueTask(Task.Delay(1)),
        };
        connection.Start();
        const int events = 5_000;
        const int controls = 200;

        var fanout = Task.Run(() =>
        {
            for (var i = 1; i <= events; i++)
            {
                connection.Enqueue(HubProtocols.Event(i));
            }
        });
        var control = Task.Run(() =>
        {
            for (var i = 1; i <= controls; i++)
            {
                connection.EnqueueControl(HubProtocols.Resync("r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Message);
            }
        });
        await Task.WhenAll(fanout, control).WaitAsync(TimeSpan.FromSeconds(60));
        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var delivered = HubProtocols.Describe(HubProtocols.Parse(context.Protocol, context.Bytes()));
        Assert.Equal(Enumerable.Range(1, events).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), delivered.Where(d => d.Method != "Resync").Select(d => d.Value));
        Assert.Equal(Enumerable.Range(1, controls).Select(i => "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), delivered.Where(d => d.Method == "Resync").Select(d => d.Value));
        Assert.Equal(0, connection.QueuedCount);
        Assert.Equal(0, context.Concurrent);
    }

    private static async ValueTask YieldAsync() => await Task.Yield();

    [Fact]
    public async Task Complete_NeverStarted_ReturnsAtOnce()
    {
        // A connection whose attach failed is completed without ever having been started: nothing can drain its queue.
        var (connection, context) = Create("json", 1);
        connection.Enqueue(HubProtocols.Event(1));

        await connection.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(context.Writes);
    }

    [Fact]
    public async Task Complete_WriteInFlight_WaitsForItAndTheBacklog()
    {
        var (connection, context) = Create("json", 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Pace = index => index == 0 ? new ValueTask(gate.Task) : default;
        connection.Start();
        connection.Enqueue(HubProtocols.Event(1));
        connection.Enqueue(HubProtocols.Event(2));
        connection.EnqueueControl(HubProtocols.Resync("auth_expired").Message);

        var completing = connection.CompleteAsync();
        Assert.False(completing.IsCompleted);
        gate.SetResult();
        await completing.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([("Event", "1"), ("Event", "2"), ("Resync", "auth_expired")], HubProtocols.Describe(HubProtocols.Parse(context.Protocol, context.Bytes())));
    }

#pragma warning disable CA2252 // Preview interface, used as SignalR uses it.
    private sealed class StatefulReconnect : IStatefulReconnectFeature
    {
        public void OnReconnected(Func<System.IO.Pipelines.PipeWriter, Task> notifyOnReconnect)
        {
        }

        public void DisableReconnect()
        {
        }
    }
#pragma warning restore CA2252

    /// <summary>A hub connection that records what is written to it instead of sending it.</summary>
    private sealed class RecordingContext(IHubProtocol protocol, DefaultConnectionContext transport)
        : HubConnectionContext(transport, new HubConnectionContextOptions { KeepAliveInterval = TimeSpan.FromMinutes(1), ClientTimeoutInterval = TimeSpan.FromMinutes(2) }, NullLoggerFactory.Instance)
    {
        private readonly Lock _gate = new();
        private readonly List<SerializedHubMessage> _writes = [];
        private readonly List<SerializedHubMessage> _originals = [];
        private readonly List<int> _threads = [];
        private int _inFlight;
        private int _concurrent;

        /// <summary>What the write with this index (0-based) returns; completed at once when not set.</summary>
        public Func<int, ValueTask>? Pace { get; set; }

        /// <summary>How many writes started while another was still in flight (must stay 0: one writer at a time).</summary>
        public int Concurrent => Volatile.Read(ref _concurrent);

        public IReadOnlyList<int> WriteThreads
        {
            get
            {
                lock (_gate)
                {
                    return [.. _threads];
                }
            }
        }

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

        public IReadOnlyList<SerializedHubMessage> OriginalWrites
        {
            get
            {
                lock (_gate)
                {
                    return [.. _originals];
                }
            }
        }

        public byte[] Bytes() => [.. Writes.SelectMany(w => w.GetSerializedMessage(protocol).ToArray())];

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            // Copy: the writer returns its pooled buffer once the write completes.
            if (Interlocked.Increment(ref _inFlight) > 1)
            {
                Interlocked.Increment(ref _concurrent);
            }

            var copy = new SerializedHubMessage([new SerializedMessage(protocol.Name, message.GetSerializedMessage(protocol).ToArray())]);
            int index;
            lock (_gate)
            {
                index = _writes.Count;
                _writes.Add(message.Message is null ? copy : message);
                _originals.Add(message);
                _threads.Add(Environment.CurrentManagedThreadId);
            }

            var pace = Pace?.Invoke(index) ?? default;
            if (pace.IsCompletedSuccessfully)
            {
                Interlocked.Decrement(ref _inFlight);
                return default;
            }

            return CompleteLaterAsync(pace);
        }

        private async ValueTask CompleteLaterAsync(ValueTask pace)
        {
            try
            {
                await pace;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
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
