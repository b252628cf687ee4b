namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// Every client's log checked against what the admin wrote. A change due to a client (its topic, visible to its user,
/// written while its topics were held) arrives exactly once, unless the client got a <c>Resync</c> for that topic whose
/// window covers the change: then it may be missing or doubled (docs/protocol.md: "events for topics may have been
/// lost; refetch"). A window runs from the fault that caused the Resync (the phase's fault, or the client's own
/// disconnect, whichever is earlier) less <see cref="Slack"/> for changes still on their way at that moment, to the
/// moment the client got the Resync. A client closed by the test is owed what was written up to <see cref="Slack"/>
/// before it closed. A note delivered to anyone but its owner is a leak, whatever the Resyncs.
/// </summary>
internal sealed class ChaosCheck
{
    /// <summary>Changes committed this long before a fault may still have been on their way through the failing part.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyList<ChaosPhase> _phases;
    private readonly Dictionary<string, ChaosWrite> _written;
    private readonly HashSet<string> _uncertain;

    public ChaosCheck(IReadOnlyList<ChaosClient> clients, IReadOnlyList<ChaosWrite> writes, IReadOnlyList<ChaosPhase> phases)
    {
        _phases = phases;
        _written = writes.Where(static w => w.Confirmed).ToDictionary(static w => w.Key);
        _uncertain = [.. writes.Where(static w => !w.Confirmed).Select(static w => w.Key)];
        Clients = clients.Count;
        Events = _written.Count;
        Notes = _written.Values.Count(static w => w.Collection == "notes");
        foreach (var client in clients)
        {
            Check(client);
        }
    }

    public int Clients { get; }

    public int Events { get; }

    public int Notes { get; }

    public int Due { get; private set; }

    public int Deliveries { get; private set; }

    public int Lost { get; private set; }

    public int LostInWindow { get; private set; }

    public int Duplicates { get; private set; }

    public int DuplicatesInWindow { get; private set; }

    public int Leaks { get; private set; }

    public int Unknown { get; private set; }

    public List<string> Problems { get; } = [];

    /// <summary>The phase <paramref name="at"/> falls in: from its fault to the next phase's.</summary>
    public ChaosPhase PhaseAt(TimeSpan at) => _phases.LastOrDefault(phase => phase.Fault <= at) ?? _phases[0];

    private void Check(ChaosClient client)
    {
        var windows = Windows(client);
        var deliveries = client.Deliveries();
        Deliveries += deliveries.Count;
        var counts = new Dictionary<string, int>();
        foreach (var delivery in deliveries)
        {
            counts[delivery.Key] = counts.GetValueOrDefault(delivery.Key) + 1;
            if (delivery.Collection == "notes" && (client.User is null || delivery.Owner != client.User.Id))
            {
                Leaks++;
                Report($"LEAK: {client.Name} got {delivery.Key} (owner {delivery.Owner}) at {delivery.At.TotalSeconds:0.000}");
            }
            else if (!_written.ContainsKey(delivery.Key) && !_uncertain.Contains(delivery.Key))
            {
                Unknown++;
                Report($"UNKNOWN: {client.Name} got {delivery.Key} at {delivery.At.TotalSeconds:0.000}, never written");
            }
        }

        foreach (var write in _written.Values.Where(w => Visible(client, w)))
        {
            // A tab closing drops what is still on its way to it: only what was written a while before it closed is owed.
            var due = client.SubscribedAt is { } subscribed && write.Start >= subscribed && (client.ClosedAt is null || write.End <= client.ClosedAt - Slack);
            var count = counts.GetValueOrDefault(write.Key);
            var excused = windows.Any(window => window.Topic == write.Topic && write.End >= window.Start && write.Start <= window.End);
            if (due)
            {
                Due++;
            }

            if (due && count == 0)
            {
                if (excused)
                {
                    LostInWindow++;
                }
                else
                {
                    Lost++;
                    Report($"LOST: {client.Name} never got {write.Key} written {write.Start.TotalSeconds:0.000}-{write.End.TotalSeconds:0.000} ({PhaseAt(write.Start).Name}); {Describe(client)}");
                }
            }

            if (count > 1)
            {
                if (excused)
                {
                    DuplicatesInWindow += count - 1;
                }
                else
                {
                    Duplicates += count - 1;
                    var times = string.Join(", ", deliveries.Where(d => d.Key == write.Key).Select(static d => d.At.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)));
                    Report($"DUPLICATE: {client.Name} got {write.Key} {count} times (at {times}), written {write.Start.TotalSeconds:0.000}-{write.End.TotalSeconds:0.000} ({PhaseAt(write.Start).Name}); {Describe(client)}");
                }
            }
        }
    }

    /// <summary>The windows of the client's Resyncs, per topic.</summary>
    private List<(string Topic, TimeSpan Start, TimeSpan End)> Windows(ChaosClient client)
    {
        var disconnects = client.Disconnects();
        var windows = new List<(string Topic, TimeSpan Start, TimeSpan End)>();
        foreach (var resync in client.Resyncs())
        {
            var phase = PhaseAt(resync.At);
            var candidates = new List<TimeSpan>();
            if (phase != _phases[0])
            {
                candidates.Add(phase.Fault);
            }

            if (disconnects.LastOrDefault(at => at <= resync.At) is var disconnect && disconnect > TimeSpan.Zero)
            {
                candidates.Add(disconnect);
            }

            var start = candidates.Count > 0 ? candidates.Min() : client.SubscribedAt ?? TimeSpan.Zero;
            windows.AddRange(resync.Topics.Select(topic => (topic, start - Slack, resync.At)));
        }

        return windows;
    }

    private static bool Visible(ChaosClient client, ChaosWrite write)
        => client.Topics.Contains(write.Topic) && (write.Collection != "notes" || (client.User is { } user && write.Owner == user.Id));

    private static string Describe(ChaosClient client)
    {
        static string Times(IEnumerable<TimeSpan> times) => string.Join(" ", times.Select(static t => t.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)));
        var resyncs = string.Join(" ", client.Resyncs().Select(static r => $"{r.At.TotalSeconds:0.000}:{r.Reason}[{string.Join(',', r.Topics)}]"));
        return $"subscribed {client.SubscribedAt?.TotalSeconds:0.000}, closed {client.ClosedAt?.TotalSeconds:0.000}, disconnects [{Times(client.Disconnects())}], resyncs [{resyncs}]";
    }

    private void Report(string problem)
    {
        if (Problems.Count < 40)
        {
            Problems.Add(problem);
        }
    }
}
