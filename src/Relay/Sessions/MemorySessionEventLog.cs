using System.Globalization;
using System.Security.Cryptography;
using Relay.Client.Protocol;
using Relay.Upstream;

namespace Relay.Sessions;

/// <summary>
/// The in-memory <see cref="ISessionEventLog"/> of one session incarnation: a ring bounded by
/// <see cref="HistoryOptions.MaxEvents"/> and <see cref="HistoryOptions.MaxAge"/>. Offsets are <c>EPOCH-SEQ</c>, where
/// the epoch is 64 random bits drawn per log, so an offset from a closed session, another instance or an earlier process
/// never resolves here. Not thread-safe: the session calls it under its lock.
/// </summary>
internal sealed class MemorySessionEventLog : ISessionEventLog
{
    private readonly Queue<Entry> _entries = new();
    private readonly Dictionary<string, long> _heldFrom = new(StringComparer.Ordinal);
    private readonly int _maxEvents;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _timeProvider;
    private readonly string _prefix;
    private long _seq;
    // Reads from before these points cannot be answered: an entry after them may be gone (trimmed) or never came (gap).
    private long _trimmedThrough;
    private long _gapAt;

    public MemorySessionEventLog(HistoryOptions options, TimeProvider timeProvider)
    {
        _maxEvents = options.MaxEvents;
        _maxAge = options.MaxAge;
        _timeProvider = timeProvider;
        Epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        _prefix = Epoch + "-";
    }

    /// <summary>This incarnation's random epoch, the prefix of its offsets.</summary>
    public string Epoch { get; }

    /// <summary>Entries held (for tests and diagnostics).</summary>
    public int Count => _entries.Count;

    public string Head => Format(_seq);

    public void Hold(string upstreamTopic)
    {
        if (!_heldFrom.ContainsKey(upstreamTopic))
        {
            // A position of its own, after any offset handed out before: events the topic missed while it was not held
            // (released and held again) fall before it, so an older offset reads as a gap.
            _heldFrom.Add(upstreamTopic, ++_seq);
        }
    }

    public void Release(string upstreamTopic) => _heldFrom.Remove(upstreamTopic);

    public string Append(string upstreamTopic, RelayEvent relayEvent)
    {
        var offset = Format(++_seq);
        relayEvent.Offset = offset;
        _entries.Enqueue(new Entry(_seq, _timeProvider.GetTimestamp(), upstreamTopic, relayEvent));
        while (_entries.Count > _maxEvents)
        {
            _trimmedThrough = _entries.Dequeue().Seq;
        }

        TrimByAge();
        return offset;
    }

    public void Observe(UpstreamEvent upstreamEvent)
    {
        // Everything it relays is in this log.
    }

    public bool TryReadSince(string offset, string upstreamTopic, out IReadOnlyList<RelayEvent> events)
    {
        events = [];
        TrimByAge();
        if (!TryParse(offset, out var since)
            || !_heldFrom.TryGetValue(upstreamTopic, out var heldFrom) || since < heldFrom
            || since < _gapAt || since < _trimmedThrough)
        {
            return false;
        }

        List<RelayEvent> missed = [];
        foreach (var entry in _entries)
        {
            if (entry.Seq > since && entry.UpstreamTopic == upstreamTopic)
            {
                missed.Add(entry.Event);
            }
        }

        events = missed;
        return true;
    }

    // The gap takes a sequence number of its own, so an offset taken after it (Head) still resolves.
    public void MarkGap() => _gapAt = ++_seq;

    private void TrimByAge()
    {
        while (_entries.TryPeek(out var oldest) && _timeProvider.GetElapsedTime(oldest.Timestamp) > _maxAge)
        {
            _trimmedThrough = _entries.Dequeue().Seq;
        }
    }

    private string Format(long seq) => string.Concat(_prefix, seq.ToString(CultureInfo.InvariantCulture));

    private bool TryParse(string offset, out long seq)
    {
        seq = 0;
        return offset.StartsWith(_prefix, StringComparison.Ordinal)
            && long.TryParse(offset.AsSpan(_prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out seq)
            && seq <= _seq;
    }

    private readonly record struct Entry(long Seq, long Timestamp, string UpstreamTopic, RelayEvent Event);
}
