using System.Text.Json;
using Relay.Upstream;

namespace Relay.SharedStreams;

/// <summary>
/// Compares what a class stream carried with what one sampled member's own stream carried for the same topic (issue
/// #22 item 4): each event is keyed by action, record id and <c>updated</c>; an event one side carried and the other has
/// not carried within the window is a disagreement. Events seen within a window after arming or a reset (either side's
/// gap) are matched but never flagged: they may have been in flight on one side only when comparing began.
/// Thread-safe.
/// </summary>
internal sealed class ShadowComparer(TimeProvider timeProvider, TimeSpan window)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _sharedOnly = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _ownOnly = new(StringComparer.Ordinal);

    // Keys both sides carried, kept for a window: PocketBase sometimes sends one change twice on a stream (0.22.20, an
    // update it makes while deleting a user), and a copy after the match is the same visibility, not a disagreement.
    private readonly Dictionary<string, long> _matchedAt = new(StringComparer.Ordinal);
    private long _graceUntil = long.MaxValue;
    private long _matched;

    /// <summary>Starts comparing (again): what was pending is dropped, and a window of grace begins.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _sharedOnly.Clear();
            _ownOnly.Clear();
            _matchedAt.Clear();
            _graceUntil = timeProvider.GetTimestamp() + ToTicks(window);
        }
    }

    /// <summary>Stops comparing until the next <see cref="Reset"/> (the class stream is being reopened: its side is a known gap).</summary>
    public void Pause()
    {
        lock (_gate)
        {
            _sharedOnly.Clear();
            _ownOnly.Clear();
            _matchedAt.Clear();
            _graceUntil = long.MaxValue;
        }
    }

    public void OnShared(string key) => Observe(key, _sharedOnly, _ownOnly);

    public void OnOwn(string key) => Observe(key, _ownOnly, _sharedOnly);

    /// <summary>Events both sides carried since the last call.</summary>
    public long TakeMatched()
    {
        lock (_gate)
        {
            var matched = _matched;
            _matched = 0;
            return matched;
        }
    }

    /// <summary>The events one side has carried for longer than the window without the other (each reported once).</summary>
    public IReadOnlyList<string> Sweep()
    {
        lock (_gate)
        {
            var now = timeProvider.GetTimestamp();
            var limit = ToTicks(window);
            List<string> late = [];
            foreach (var pending in new[] { _sharedOnly, _ownOnly })
            {
                foreach (var (key, seenAt) in pending.ToArray())
                {
                    if (now - seenAt < limit)
                    {
                        continue;
                    }

                    pending.Remove(key);
                    if (seenAt >= _graceUntil)
                    {
                        late.Add(pending == _sharedOnly ? "class stream only: " + key : "own stream only: " + key);
                    }
                }
            }

            foreach (var (key, matchedAt) in _matchedAt.ToArray())
            {
                if (now - matchedAt >= limit)
                {
                    _matchedAt.Remove(key);
                }
            }

            return late;
        }
    }

    /// <summary>The comparison key of an event: action, record id and <c>updated</c> (a record changed twice is two events).</summary>
    public static string KeyOf(UpstreamEvent upstreamEvent)
    {
        var record = upstreamEvent.Record;
        var id = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("id", out var value) ? value.ToString() : "";
        var updated = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("updated", out var at) ? at.ToString() : "";
        return $"{upstreamEvent.UpstreamTopic} {upstreamEvent.Action} {id} {updated}";
    }

    private void Observe(string key, Dictionary<string, long> mine, Dictionary<string, long> other)
    {
        lock (_gate)
        {
            if (_graceUntil == long.MaxValue)
            {
                return;
            }

            if (other.Remove(key))
            {
                _matched++;
                _matchedAt[key] = timeProvider.GetTimestamp();
                return;
            }

            if (!_matchedAt.ContainsKey(key))
            {
                mine.TryAdd(key, timeProvider.GetTimestamp());
            }
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * timeProvider.TimestampFrequency);
}
